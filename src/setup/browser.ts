/**
 * Opens a URL in the desktop's browser when there is one (`open` on macOS, `xdg-open` elsewhere).
 * On a server without either, nothing happens: the URL is printed anyway, for a browser anywhere.
 */
import { spawn } from 'node:child_process';

export function browserOpener(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? 'open' : 'xdg-open';
}

/** Resolves true when the opener started, false when there is none; never rejects. */
export function openInBrowser(url: string, opener: string = browserOpener()): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        // The opener hands the URL to the browser and exits; we do not wait for either.
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
