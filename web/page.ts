// The page's shared elements and its one status line.
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const form = $<HTMLFormElement>('config');
export const modeSelect = form.elements.namedItem('mode') as HTMLSelectElement;
export const presetSelect = form.elements.namedItem('preset') as HTMLSelectElement;
export const backendSelect = form.elements.namedItem('backend') as HTMLSelectElement;
export const backendLine = $<HTMLParagraphElement>('backend');
export const threadsInput = form.elements.namedItem('threads') as HTMLInputElement;
export const threadsLine = $<HTMLParagraphElement>('threads');
export const message = $<HTMLParagraphElement>('message');
export const progress = $<HTMLProgressElement>('progress');
export const progressText = $<HTMLParagraphElement>('progress-text');
export const buttons = { run: $<HTMLButtonElement>('run'), pause: $<HTMLButtonElement>('pause'), stop: $<HTMLButtonElement>('stop') };

/** Shows one line of status (in red when it is an error). */
export function say(text: string, error = false): void {
  message.textContent = text;
  message.classList.toggle('error', error);
}


/**
 * Enables or disables a button the accessible way: aria-disabled, not the disabled attribute, so
 * a button that becomes unavailable as it is pressed keeps the focus; its click handler checks
 * the page's state (or `isEnabled`) and does nothing meanwhile.
 */
export function setEnabled(button: HTMLButtonElement, on: boolean): void {
  button.disabled = false;
  button.setAttribute('aria-disabled', String(!on));
}
export const isEnabled = (button: HTMLButtonElement) => button.getAttribute('aria-disabled') !== 'true';
