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
