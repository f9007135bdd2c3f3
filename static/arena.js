// The names this script shares with the server (sides, votes, stream events) are not
// restated here: the server puts window.arenaWords in front of this script, from
// arena/words.py (page_words).

// arena: keyboard shortcuts for the four vote buttons (1 A is better, 2 B is better,
// 3 Tie, 4 Both are bad). Ignored while typing; only an enabled, visible button is
// pressed, so a shortcut can never vote early or on a hidden tab.
(() => {
  const keys = Object.fromEntries(window.arenaWords.votes.map((v) => [v.shortcut, `vote-${v.key}`]));
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

// arena: a message's own copy button copies what the voter reads. The panes hold
// sanitised HTML (arena/web/render.py), which Gradio's button would copy as markup.
// (Gradio names the button "Copy message"; its row is the element before its buttons.)
document.addEventListener("click", (event) => {
  const button = event.target.closest?.('.message-buttons button[aria-label="Copy message"]');
  const content = button?.closest(".message-buttons")?.previousElementSibling
    ?.querySelector(".message-content");
  if (!content) return;
  event.stopImmediatePropagation();
  event.preventDefault();
  navigator.clipboard?.writeText(content.innerText.trim()).catch(() => {});
}, true);

// arena: a battle on the page, through the panel's own endpoints (arena/web/battle.py)
// rather than Gradio's queue. Each function resolves with what the panel shows next,
// which Gradio draws (markdown, code): arenaTurn posts a prompt (or, for Regenerate,
// none) and resolves once the turn started, was refused or waits in line; arenaWait
// waits out the line; arenaFollow reads both answers into the last answer bubble of
// each pane as plain text and resolves with the stored turn the stream ends with;
// arenaStreamDone takes the live text away. The battle's id stays in this page.
(() => {
  const battles = {}; // panel -> the battle it shows
  const waiting = {}; // panel -> a turn in line
  const turns = {}; // panel -> the turn whose answers are being read
  const rounds = {}; // panel -> how many times New round was pressed
  const { sides: SIDES, events: EVENTS } = window.arenaWords;
  const LOST = "The connection to the arena was lost, so this battle cannot go on. Press **New round** to start another.";
  const NEW_ROUND = "New round. Write a prompt below to start the battle.";
  const warn = (message) => `⚠ ${message.charAt(0).toUpperCase()}${message.slice(1)}`;
  const post = (path, body) =>
    fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const reason = async (response) => {
    try {
      const { detail } = await response.json();
      return typeof detail === "string" ? detail : JSON.stringify(detail);
    } catch (e) {
      return `the arena answered HTTP ${response.status}; please try again`;
    }
  };
  // A response's server-sent events, one {event, data} at a time (null at the end).
  const events = (response) => {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    return {
      reader,
      async next() {
        for (;;) {
          const end = buffer.indexOf("\n\n");
          if (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) event = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (data) return { event, data: JSON.parse(data) };
            continue;
          }
          const { done, value } = await reader.read();
          if (done) return null;
          buffer += decoder.decode(value, { stream: true });
        }
      },
    };
  };
  // While in line, the place as it moves, beside the status Gradio drew.
  const linePlace = (prefix, text) => {
    const status = document.getElementById(`${prefix}-status`);
    if (!status) return;
    let line = status.querySelector(":scope > .arena-line");
    if (!line && text) {
      line = document.createElement("div");
      line.className = "arena-line";
      status.appendChild(line);
    }
    if (line && text) line.textContent = text;
    else if (line) line.remove();
  };
  // What a turn's first events mean for the panel: [box, a, b, status, can_vote].
  const begun = (prefix, turn, event, kept) => {
    const [box, a, b, status, canVote] = kept;
    if (!event) return [box || turn.text, a, b, warn(LOST), canVote];
    if (event.event === EVENTS.refused) return [box || turn.text, a, b, warn(event.data.message), canVote];
    if (event.event === EVENTS.line) {
      waiting[prefix] = turn;
      return [box === turn.text ? "" : box, a, b, event.data.status, "no"];
    }
    battles[prefix] = turn.battle = event.data.battle;
    turns[prefix] = turn;
    return [box === turn.text ? "" : box, event.data.a, event.data.b, event.data.status, "no"];
  };
  window.arenaTurn = async (prefix, box, sending, rest) => {
    const [a, b, status, canVote, ...picked] = rest;
    const body = { battle: battles[prefix] ?? null, prompt: sending ? box : null };
    if (picked.length === 5 && !body.battle) {
      body.models = [picked[0], picked[1]];
      body.params = { temperature: picked[2], top_p: picked[3], max_tokens: picked[4] };
    }
    const kept = [box, a, b, status, canVote];
    let response;
    try {
      response = await post("/api/turn", body);
    } catch (e) {
      return [box, a, b, warn("the arena cannot be reached; check your connection and try again"), canVote];
    }
    if (!response.ok) return [box, a, b, warn(await reason(response)), canVote];
    const turn = events(response);
    turn.text = sending ? box : "";
    turn.canVote = canVote;
    turn.round = rounds[prefix];
    let first = null;
    try { first = await turn.next(); } catch (e) {}
    return begun(prefix, turn, first, kept);
  };
  window.arenaWait = async (prefix, now) => {
    const turn = waiting[prefix];
    if (!turn) return now;
    delete waiting[prefix];
    for (;;) {
      let event = null;
      try { event = await turn.next(); } catch (e) {}
      if (event && event.event === EVENTS.line) {
        linePlace(prefix, `Now number ${event.data.place} in line.`);
        continue;
      }
      linePlace(prefix, null);
      const [box, a, b] = now;
      return begun(prefix, turn, event, [box, a, b, now[3], turn.canVote]);
    }
  };
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
  window.arenaFollow = async (prefix, now) => {
    const turn = turns[prefix];
    if (!turn) return now;
    delete turns[prefix];
    // Until a side's first words arrive, its pane counts the seconds (from 2 s on), so a
    // slow model never looks like a page that stopped working.
    const started = Date.now();
    const quiet = new Set(SIDES);
    const clock = setInterval(() => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      if (seconds < 2) return;
      for (const side of quiet) {
        const live = pane(prefix, side);
        if (live) live.dataset.wait = `Waiting for the first words… ${seconds} s`;
      }
    }, 1000);
    let view = null;
    try {
      for (let event = await turn.next(); event; event = await turn.next()) {
        if (turn.round !== rounds[prefix]) break; // New round was pressed meanwhile
        if (event.event === EVENTS.done) {
          view = event.data;
          break;
        }
        for (const side of SIDES) {
          if (!event.data[side]) continue;
          const live = pane(prefix, side);
          if (!live) continue;
          quiet.delete(side);
          delete live.dataset.wait;
          live.textContent += event.data[side]; // text, never HTML
          const log = live.closest(".bubble-wrap");
          if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
        }
      }
    } catch (e) {
      // the stream broke: the stored turn is asked for below
    } finally {
      clearInterval(clock);
      turn.reader.cancel().catch(() => {});
    }
    if (turn.round !== rounds[prefix]) return [[], [], NEW_ROUND, "no"];
    if (!view || view.status === undefined) {
      try {
        const asked = await fetch(`/api/turn/${turn.battle}`, { credentials: "same-origin" });
        if (asked.ok) view = await asked.json();
      } catch (e) {}
    }
    if (!view || view.status === undefined) return [now[0], now[1], warn(LOST), "no"];
    return [view.a, view.b, view.status, view.can_vote];
  };
  window.arenaStreamDone = (prefix) => {
    for (const el of document.querySelectorAll(`#${prefix}-chat-a .arena-live, #${prefix}-chat-b .arena-live`)) el.remove();
    for (const el of document.querySelectorAll(".arena-streaming")) el.classList.remove("arena-streaming");
    return [];
  };
  window.arenaStop = (prefix) => {
    // The turn's stream then ends with what both models wrote, marked stopped.
    if (battles[prefix]) post("/api/stop", { battle: battles[prefix] }).catch(() => {});
    return [];
  };
  window.arenaVote = async (prefix, vote, now) => {
    const [status, canVote] = now;
    if (!battles[prefix]) return [warn("send a prompt first; there is nothing to vote on yet"), canVote];
    try {
      const response = await post("/api/vote", { battle: battles[prefix], vote });
      if (!response.ok) return [warn(await reason(response)), canVote];
      window.arenaProof(); // renewed when it has run out
      return [(await response.json()).status, "no"];
    } catch (e) {
      return [warn("the arena cannot be reached, so your vote was not counted; please vote again"), canVote];
    }
  };
  window.arenaNewRound = (prefix) => {
    delete battles[prefix];
    delete waiting[prefix];
    rounds[prefix] = (rounds[prefix] ?? 0) + 1;
    return [[], [], NEW_ROUND, "no"];
  };
})();

// arena: the vote buttons wake ("yes") and sleep ("no") as the server says, without a
// Gradio component update per event (see arena/ui/battle.py).
window.arenaVotes = (prefix, value) => {
  for (const suffix of window.arenaWords.votes.map((v) => v.key)) {
    const button = document.getElementById(`${prefix}-vote-${suffix}`);
    if (button) button.disabled = value !== "yes";
  }
  return [];
};

// arena: the proof of work (arena/integrity/proof.py). When the page loads and after
// every vote it asks /api/proof whether its browser's proof still covers the next vote;
// if not, it solves the ALTCHA challenge it gets (iterated SHA-256: find the counter
// whose hash starts with the given prefix) in slices, so the page stays responsive,
// and posts the solution, which the server answers with the proof cookie.
(() => {
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const W = new Uint32Array(64);
  // SHA-256 of a message under 56 bytes (one block), as 32 bytes.
  const sha256 = (bytes) => {
    const block = new Uint8Array(64);
    block.set(bytes);
    block[bytes.length] = 0x80;
    const bits = bytes.length * 8;
    block[62] = bits >>> 8;
    block[63] = bits & 0xff;
    for (let i = 0; i < 16; i++) {
      W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15], b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, h] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    const H = [a, b, c, d, e, f, g, h];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    const out = new Uint8Array(32);
    [a, b, c, d, e, f, g, h].forEach((v, i) => {
      v = (v + H[i]) | 0;
      out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 0xff;
      out[4 * i + 2] = (v >>> 8) & 0xff; out[4 * i + 3] = v & 0xff;
    });
    return out;
  };
  const fromHex = (hex) => new Uint8Array(hex.match(/../g).map((x) => parseInt(x, 16)));
  const toHex = (bytes) => Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
  const solve = (p) => new Promise((resolve) => {
    const salt = fromHex(p.salt), nonce = fromHex(p.nonce), prefix = fromHex(p.keyPrefix);
    const input = new Uint8Array(salt.length + nonce.length + 4);
    input.set(salt);
    input.set(nonce, salt.length);
    const at = salt.length + nonce.length;
    let counter = 0;
    const slice = () => {
      for (const end = counter + 20000; counter < end; counter++) {
        input[at] = counter >>> 24; input[at + 1] = (counter >>> 16) & 0xff;
        input[at + 2] = (counter >>> 8) & 0xff; input[at + 3] = counter & 0xff;
        let key = sha256(input);
        for (let i = 1; i < p.cost; i++) key = sha256(key);
        if (prefix.every((x, i) => key[i] === x)) {
          return resolve({ counter, derivedKey: toHex(key.slice(0, p.keyLength)) });
        }
      }
      if (counter > 2 ** 32 - 20000) return resolve(null);
      setTimeout(slice, 0);
    };
    slice();
  });
  window.arenaSolve = solve;
  let running = null;
  window.arenaProof = () => {
    running ??= (async () => {
      try {
        const asked = await (await fetch("/api/proof", { credentials: "same-origin" })).json();
        if (!asked.needed) return;
        const solution = await solve(asked.challenge.parameters);
        if (!solution) return;
        const payload = btoa(JSON.stringify({ challenge: asked.challenge, solution }));
        await fetch("/api/proof", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ payload }),
        });
      } catch (e) {
        // no proof this time: the vote is kept, flagged; the next vote tries again
      } finally {
        running = null;
      }
    })();
    return running;
  };
  // Gradio adds this script to the page itself, often after the page has loaded.
  if (document.readyState === "complete") window.arenaProof();
  else window.addEventListener("load", () => window.arenaProof());
})();
