import { AppError } from '../../src/core/errors.js';

/** The AppError `promise` rejects with; any other error is rethrown, and a fulfilment fails the test. */
export async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
