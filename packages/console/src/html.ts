// Preact with htm: tagged templates instead of JSX, so the console needs no compiler plugin.
// Every interpolated value is a text node or a property, never parsed as markup.
export { html } from "htm/preact"
