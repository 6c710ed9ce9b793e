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

// "Use" next to a listed branch or tag (templates/_remote_refs.html) fills the Ref field and says where that ref
// is; without JavaScript the button submits the form again with that ref.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-use-ref]");
  if (!button) return;
  const field = button.form && button.form.elements.namedItem("ref");
  if (!field) return;
  event.preventDefault();
  field.value = button.dataset.useRef;
  const resolved = document.getElementById("ref-resolved");
  if (resolved) {
    resolved.textContent = "";
    const name = document.createElement("code");
    name.textContent = button.dataset.useRef;
    const commit = document.createElement("code");
    commit.textContent = button.dataset.commit.slice(0, 12);
    commit.title = button.dataset.commit;
    resolved.append(name, " is at ", commit);
  }
  field.focus();
});

// Confirmations (templates/_confirm.html) loaded by htmx into the page's dialog open as a modal; Cancel and Escape
// close it. Without JavaScript the same link leads to the confirmation page.
document.addEventListener("htmx:afterSwap", (event) => {
  const dialog = event.detail.target;
  if (!dialog || dialog.id !== "confirm-dialog") return;
  if (!dialog.open) dialog.showModal();
  const button = dialog.querySelector("[autofocus]");
  if (button) button.focus();
});
document.addEventListener("click", (event) => {
  const cancel = event.target.closest("[data-dialog-close]");
  const dialog = cancel && cancel.closest("dialog");
  if (!dialog) return;
  event.preventDefault();
  dialog.close();
});

// A running job's log (templates/_job_live.html) is swapped every 2 s: keep following its end if the reader was at
// the end, else keep their place.
let jobLogPlace = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  if (!event.detail.target || event.detail.target.id !== "job-live") return;
  const logs = event.detail.target.querySelectorAll("pre.log");
  const last = logs[logs.length - 1];
  jobLogPlace = last ? { end: last.scrollTop + last.clientHeight >= last.scrollHeight - 4, top: last.scrollTop } : null;
});
document.addEventListener("htmx:afterSettle", () => {
  if (!jobLogPlace) return;
  const live = document.getElementById("job-live");
  const logs = live ? live.querySelectorAll("pre.log") : [];
  const last = logs[logs.length - 1];
  if (last) last.scrollTop = jobLogPlace.end ? last.scrollHeight : jobLogPlace.top;
  jobLogPlace = null;
});

// Focus after a swap the person asked for (a click or a submit) when nothing in it is marked data-focus: a list
// reloaded by its filter form or pager (not while typing in the filter: focus stays in the field), or any swap that
// removed the element that had focus, gets focus on the swapped-in element, so keyboard users keep their place.
document.addEventListener("htmx:afterSettle", (event) => {
  const config = event.detail.requestConfig;
  const trigger = config && config.triggeringEvent;
  if (!trigger || (trigger.type !== "click" && trigger.type !== "submit")) return;
  const source = config.elt;
  const selector = source && source.getAttribute("hx-target");
  const target = selector && selector.startsWith("#") ? document.querySelector(selector) : null;
  if (!target || target.id === "confirm-dialog" || target.querySelector("[data-focus]")) return;
  const lost = !document.activeElement || document.activeElement === document.body;
  if (!lost && !source.matches("form.filters, .pager a")) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
});
