// arena: keyboard shortcuts for the four vote buttons (1 A is better, 2 B is better,
// 3 Tie, 4 Both are bad). Ignored while typing; only an enabled, visible button is
// pressed, so a shortcut can never vote early or on a hidden tab.
(() => {
  const keys = { "1": "vote-a", "2": "vote-b", "3": "vote-tie", "4": "vote-bad" };
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const cls = keys[event.key];
    if (!cls) return;
    for (const button of document.querySelectorAll("button." + cls)) {
      if (button.offsetParent !== null && !button.disabled) {
        button.click();
        event.preventDefault();
        return;
      }
    }
  });
})();
