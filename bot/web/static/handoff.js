// A handed-over conversation's page: fetches the thread again every few seconds while it is open,
// so that what the participant writes shows up without a reload. The server answers 204 when
// nothing changed since the state the page shows (#handoff-live's data-state), and the thread's
// changing part otherwise; the reply being typed is never touched. After the session's length
// without a touch or a key the page stops asking, so that an unattended screen signs out as usual.
'use strict';

(() => {
  const config = document.getElementById('handoff-refresh');
  if (!config || !config.dataset.url) return;

  const seconds = (value, fallback) => {
    const n = Number.parseInt(value, 10);
    return (Number.isFinite(n) && n > 0 ? n : fallback) * 1000;
  };
  const everyMs = seconds(config.dataset.seconds, 10);
  const idleMs = seconds(config.dataset.idleSeconds, 1800);
  const announce = document.getElementById('handoff-announce');
  const paused = document.getElementById('handoff-paused');

  let lastTouch = Date.now();
  let timer = null;
  let busy = false;

  for (const type of ['pointerdown', 'keydown', 'input']) {
    document.addEventListener(type, () => {
      lastTouch = Date.now();
    }, { capture: true, passive: true });
  }

  const live = () => document.getElementById('handoff-live');

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, everyMs);
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    if (paused) paused.hidden = false;
  }

  async function refresh() {
    timer = null;
    if (busy) return;
    if (Date.now() - lastTouch > idleMs) {
      stop();
      return;
    }
    const current = live();
    if (!current) return;
    const url = `${config.dataset.url}?state=${encodeURIComponent(current.dataset.state || '')}`;
    busy = true;
    try {
      const response = await fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        headers: { Accept: 'text/html' },
      });
      if (response.type === 'opaqueredirect' || response.status === 401) {
        window.location.reload(); // signed out: the sign-in page
        return;
      }
      if (response.status === 200) {
        const html = await response.text();
        replaceLive(current, html);
      }
    } catch {
      // offline for a moment: the next round tries again
    } finally {
      busy = false;
    }
    if (timer === null && (!paused || paused.hidden)) schedule();
  }

  function replaceLive(current, html) {
    const template = document.createElement('template');
    template.innerHTML = html; // rendered and escaped by the server; the CSP allows no inline script
    const fresh = template.content.getElementById('handoff-live');
    if (!fresh) return;
    if (fresh.dataset.status === 'closed' && current.dataset.status !== 'closed') {
      window.location.reload(); // handed back meanwhile: the page without the reply form
      return;
    }
    const before = Number.parseInt(current.dataset.count, 10) || 0;
    const after = Number.parseInt(fresh.dataset.count, 10) || 0;
    const focused = document.activeElement;
    const hadFocus = focused && current.contains(focused);
    current.replaceWith(fresh);
    if (hadFocus) {
      fresh.tabIndex = -1;
      fresh.focus({ preventScroll: true });
    }
    if (announce && after > before) {
      const n = after - before;
      announce.textContent = n === 1 ? 'Ett nytt meddelande.' : `${n} nya meddelanden.`;
    }
  }

  schedule();
})();
