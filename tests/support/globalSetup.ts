// Placeholder; replaced by the database global setup (fresh database per run).
export default function setup(): void {}
