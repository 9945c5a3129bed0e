/** Commander option parsers shared by the `odsora` subcommands: each names the flag and the value it refused. */
import { InvalidArgumentError } from 'commander';

/** An integer ≥ 1. */
export const posInt =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };

/** An integer ≥ 0. */
export const nonNegInt =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a non-negative integer, got '${v}'`);
    return n;
  };

/** A comma-separated list of integers ≥ 0. */
export const nonNegIntList =
  (flag: string) =>
  (v: string): number[] =>
    v.split(',').map((s) => {
      const n = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(n) || n < 0)
        throw new InvalidArgumentError(`${flag}: '${s}' is not a non-negative integer`);
      return n;
    });

/** A finite number (> 0 with `positive`). */
export const finite =
  (flag: string, positive = false) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (positive && n <= 0))
      throw new InvalidArgumentError(`${flag} must be a ${positive ? 'positive ' : ''}number, got '${v}'`);
    return n;
  };
