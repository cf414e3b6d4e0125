/** Runs a CLI entry point in this process with `env` set for the call, capturing what it prints. */
import { vi } from 'vitest';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCaptured(run: () => Promise<number>, env: Record<string, string | undefined> = {}): Promise<Captured> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  const setAll = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  try {
    setAll(env);
    const code = await run();
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    setAll(saved);
  }
}
