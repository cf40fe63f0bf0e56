export type Log = (message: string) => void;

/** Fetch progress goes to stderr: it is rare (first use only) and worth seeing, but not program output. */
export const stderrLog: Log = (message) => {
  process.stderr.write(`[engines] ${message}\n`);
};
