/**
 * Discord snowflakes: (ms since the Discord epoch) << 22 | increment. Real ones
 * are 17-19 digits and discord.js reads timestamps out of them, so the fake
 * makes them the same way rather than using counters or UUIDs.
 */
const DISCORD_EPOCH = 1_420_070_400_000n;

let increment = 0n;

export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}
