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
// (/api/stream/TOKEN: each side's new text, then "done" with the stored turn) and shown
// in the last answer bubble of each pane as plain text. arenaStream resolves with what
// the panel shows next (both panes, the status, whether the votes wake), which Gradio
// then draws (markdown, code) with no server event; arenaStreamDone takes the live text
// away. A stream that breaks asks the server instead (the hidden Finish button).
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
  window.arenaStream = (prefix, url, now) =>
    new Promise((resolve) => {
      if (!url) return resolve(now);
      const source = new EventSource(url);
      let ended = false;
      // Until a side's first words arrive, its pane counts the seconds (from 2 s on), so a
      // slow model never looks like a page that stopped working.
      const started = Date.now();
      const waiting = new Set(["a", "b"]);
      const clock = setInterval(() => {
        const seconds = Math.floor((Date.now() - started) / 1000);
        if (seconds < 2) return;
        for (const side of waiting) {
          const live = pane(prefix, side);
          if (live) live.dataset.wait = `Waiting for the first words… ${seconds} s`;
        }
      }, 1000);
      const end = (view) => {
        if (ended) return;
        ended = true;
        clearInterval(clock);
        source.close();
        if (view && view.status !== undefined) return resolve([view.a, view.b, view.status, view.can_vote]);
        document.getElementById(`${prefix}-finish`)?.click(); // ask the server
        resolve(now);
      };
      source.onmessage = (event) => {
        const delta = JSON.parse(event.data);
        for (const side of ["a", "b"]) {
          if (!delta[side]) continue;
          const live = pane(prefix, side);
          if (!live) continue;
          waiting.delete(side);
          delete live.dataset.wait;
          live.textContent += delta[side]; // text, never HTML
          const log = live.closest(".bubble-wrap");
          if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
        }
      };
      source.addEventListener("done", (event) => end(JSON.parse(event.data)));
      source.onerror = () => end(null);
    });
  window.arenaStreamDone = (prefix) => {
    for (const el of document.querySelectorAll(`#${prefix}-chat-a .arena-live, #${prefix}-chat-b .arena-live`)) el.remove();
    for (const el of document.querySelectorAll(".arena-streaming")) el.classList.remove("arena-streaming");
    return [];
  };
})();

// arena: the vote buttons wake ("yes") and sleep ("no") as the server says, without a
// Gradio component update per event (see arena/ui/battle.py).
window.arenaVotes = (prefix, value) => {
  for (const suffix of ["a", "b", "tie", "bad"]) {
    const button = document.getElementById(`${prefix}-vote-${suffix}`);
    if (button) button.disabled = value !== "yes";
  }
  return [];
};
