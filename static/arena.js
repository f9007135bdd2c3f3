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

// arena: the answers of a running turn, read from the arena's own event stream
// (/api/stream/TOKEN: each side's new text, then "done") and shown in the last
// answer bubble of each pane as plain text; Gradio then draws the stored answers
// (markdown, code) and arenaStreamDone takes the live text away. A stream that breaks
// ends the same way: the stored answers say what happened.
(() => {
  const pane = (prefix, side) => {
    const bubbles = document.querySelectorAll(`#${prefix}-chat-${side} .message.bot .message-content`);
    const content = bubbles[bubbles.length - 1];
    if (!content) return null;
    let live = content.querySelector(":scope > .arena-live");
    if (!live) {
      live = document.createElement("div");
      live.className = "arena-live";
      content.appendChild(live);
      content.classList.add("arena-streaming");
    }
    return live;
  };
  window.arenaStream = (prefix, url) =>
    new Promise((resolve) => {
      if (!url) return resolve();
      const source = new EventSource(url);
      const end = () => {
        source.close();
        resolve();
      };
      source.onmessage = (event) => {
        const delta = JSON.parse(event.data);
        for (const side of ["a", "b"]) {
          if (!delta[side]) continue;
          const live = pane(prefix, side);
          if (!live) continue;
          live.textContent += delta[side]; // text, never HTML
          const log = live.closest(".bubble-wrap");
          if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
        }
      };
      source.addEventListener("done", end);
      source.onerror = end;
    });
  window.arenaStreamDone = (prefix) => {
    for (const el of document.querySelectorAll(`#${prefix}-chat-a .arena-live, #${prefix}-chat-b .arena-live`)) el.remove();
    for (const el of document.querySelectorAll(".arena-streaming")) el.classList.remove("arena-streaming");
    return [];
  };
})();
