// The controller's own behaviour beyond htmx, kept out of the pages: the Content-Security-Policy allows
// no inline scripts or event handler attributes.

// A button with data-copy-from="<id>" copies that element's value to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-from]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyFrom);
  if (!source) return;
  navigator.clipboard.writeText(source.value).then(() => { button.textContent = "Copied"; });
});

// Keyboard focus after an htmx swap goes to the result: the swapped element (or the element in it) marked
// data-focus.
document.addEventListener("htmx:load", (event) => {
  const elt = event.detail.elt;
  if (!elt || elt === document.body || !elt.querySelector) return;
  const target = elt.matches("[data-focus]") ? elt : elt.querySelector("[data-focus]");
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
});
