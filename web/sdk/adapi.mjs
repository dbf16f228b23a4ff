/**
 * ES-module entry of the Baton host SDK. It evaluates the classic script `adapi.js` for its
 * side effects (which set `window.Baton` and `window.brightpattern`) and re-exports them.
 *
 * A module has no `document.currentScript`, so the server's origin is taken from this
 * module's own URL (`import.meta.url`) instead.
 */
globalThis.Baton = globalThis.Baton || {};
globalThis.Baton._moduleBase = new URL(import.meta.url).origin;
await import('./adapi.js');

/** @type {typeof import('./adapi').AdApi} */
export const AdApi = globalThis.Baton.AdApi;
export const EVENTS = globalThis.Baton.EVENTS;
export const ResultErrorCodes = globalThis.Baton.ResultErrorCodes;
export const ServerErrorCodes = globalThis.Baton.ServerErrorCodes;
/** The wire → Bright Pattern shape mapping the SDK applies (see docs/decisions/0006). */
export const Shapes = globalThis.Baton.Shapes;
export default AdApi;
