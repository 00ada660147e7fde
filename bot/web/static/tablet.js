// The tablet chat: NGO staff sign in, then hand the tablet to a participant.
//
// Everything about a conversation lives in JavaScript variables only: nothing goes to
// localStorage, sessionStorage, IndexedDB, cookies or the URL. "Ny deltagare", the idle timeout,
// signing out and leaving the page remove every trace of it from the DOM.
//
// While a conversation is on screen the page asks every few seconds for what a caseworker wrote
// to it (a handoff), so that their replies show up without the participant writing first.
'use strict';

(() => {
  const API = '/tablet/api/message';
  const UPDATES_API = '/tablet/api/updates';
  const POLL_MS = 5000;
  const POLL_TIMEOUT_MS = 15000;
  const REQUEST_TIMEOUT_MS = 65000; // the web app waits up to 60 s for Rasa
  const RETRY_FIRST_MS = 3000;
  const RETRY_MAX_MS = 15000;
  const RETRY_FACTOR = 1.5;
  const UNSENT_TITLE = 'Inte skickat ännu – skickas igen automatiskt';
  const REJECTED_TEXT = '⚠';

  const byId = (id) => document.getElementById(id);
  const root = byId('tablet');
  if (!root) return;

  const startScreen = byId('start');
  const chat = byId('chat');
  const messages = byId('messages');
  const typing = byId('typing');
  const choices = byId('choices');
  const sendButton = byId('send');
  const newParticipant = byId('new-participant');
  const signedOutNotice = byId('signed-out');
  const staffBar = byId('staffbar');
  let input = byId('text');

  const languages = readLanguages();
  // read each time the timer starts, so that a changed setting takes effect without a reload
  const idleMs = () => {
    const seconds = Number.parseInt(root.dataset.idleSeconds, 10);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : 300) * 1000;
  };

  // The conversation on screen (null: the language menu). Every asynchronous step checks that
  // its conversation is still this one before it touches the page.
  let conversation = null;
  let idleTimer = null;
  let signedOut = false;

  // ---- helpers -------------------------------------------------------------------------------

  function readLanguages() {
    const block = byId('languages');
    try {
      const parsed = JSON.parse(block ? block.textContent : '[]');
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : '';
  }

  function randomId() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === 'function') {
      try {
        return c.randomUUID(); // only in secure contexts (https, localhost)
      } catch {
        // fall through
      }
    }
    const bytes = c.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  const direction = (value) => (value === 'rtl' ? 'rtl' : 'ltr');

  function scrollToEnd() {
    requestAnimationFrame(() => {
      messages.scrollTop = messages.scrollHeight;
    });
  }

  // ---- what is on screen ---------------------------------------------------------------------

  function applyDirection(dir, lang) {
    chat.dir = dir;
    input.dir = dir;
    if (lang) {
      chat.lang = lang;
      input.lang = lang;
    }
  }

  function addBubble(from, text, dir, lang, extraClass) {
    const bubble = document.createElement('div');
    bubble.className = `bubble ${from}${extraClass ? ` ${extraClass}` : ''}`;
    bubble.dataset.testid = 'bubble';
    bubble.dataset.from = from;
    bubble.dir = dir;
    if (lang) bubble.lang = lang;
    const body = document.createElement('span');
    body.className = 'bubble-text';
    body.textContent = text; // never innerHTML: the text can contain anything
    bubble.append(body);
    messages.append(bubble);
    scrollToEnd();
    return bubble;
  }

  function markPending(bubble) {
    if (!bubble.classList.contains('unsent')) bubble.classList.add('pending');
  }

  function markUnsent(bubble) {
    bubble.classList.remove('pending');
    if (bubble.classList.contains('unsent')) return;
    bubble.classList.add('unsent');
    const label = document.createElement('span');
    label.className = 'unsent-label';
    label.textContent = '⚠';
    label.title = UNSENT_TITLE;
    label.setAttribute('role', 'img');
    label.setAttribute('aria-label', UNSENT_TITLE);
    label.lang = 'sv';
    label.dir = 'ltr';
    bubble.append(label);
  }

  function markSent(bubble) {
    bubble.classList.remove('unsent', 'pending');
    for (const label of bubble.querySelectorAll('.unsent-label')) label.remove();
  }

  // the typing indicator shows while something waits for an answer; choices wait with it
  function updateWaiting(c) {
    if (c !== conversation) return;
    const waiting = c.queue.length > 0;
    typing.hidden = !waiting;
    typing.classList.toggle('stalled', waiting && c.failing);
    for (const button of choices.querySelectorAll('button')) button.disabled = waiting;
    if (waiting) scrollToEnd();
  }

  function showReplies(c, replies) {
    if (!Array.isArray(replies) || replies.length === 0) return;
    let last = null;
    let withButtons = null;
    for (const reply of replies) {
      if (!reply || typeof reply !== 'object') continue;
      // a reply that does not say its direction keeps the conversation's
      const dir = reply.direction === 'rtl' || reply.direction === 'ltr' ? reply.direction : direction(c.direction);
      const lang = typeof reply.language === 'string' && reply.language ? reply.language : c.language;
      if (typeof reply.text === 'string' && reply.text !== '') addBubble('bot', reply.text, dir, lang);
      const buttons = Array.isArray(reply.buttons) ? reply.buttons.filter((b) => b && typeof b === 'object') : [];
      if (buttons.length > 0) withButtons = { buttons, dir, lang };
      last = { dir, lang };
    }
    if (last) {
      c.direction = last.dir;
      c.language = last.lang;
      applyDirection(last.dir, last.lang);
    }
    const made = withButtons
      ? withButtons.buttons.map((b) => makeChoice(c, String(b.title ?? ''), String(b.payload ?? ''), withButtons.dir, withButtons.lang))
      : [];
    choices.replaceChildren(...made);
    scrollToEnd();
  }

  function makeChoice(c, title, payload, dir, lang) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn choice';
    button.dataset.testid = 'choice';
    button.dir = dir;
    if (lang) button.lang = lang;
    button.textContent = title;
    button.addEventListener('click', () => {
      if (c !== conversation || button.disabled || c.queue.length > 0) return;
      choices.replaceChildren();
      const bubble = addBubble('participant', title, dir, lang);
      enqueue(c, payload || title, true, bubble);
    });
    return button;
  }

  // ---- sending ---------------------------------------------------------------------------------

  function enqueue(c, text, tapped, bubble) {
    const item = {
      messageId: randomId(), // the same id on every retry: the server answers a resend once
      text,
      tapped,
      bubble,
      language: c.started ? null : c.language, // only on the first message of a conversation
    };
    c.started = true;
    c.queue.push(item);
    if (bubble) {
      if (c.failing) markUnsent(bubble);
      else if (c.queue.length > 1) markPending(bubble);
    }
    updateWaiting(c);
    pump(c);
  }

  // one request at a time, in order
  async function pump(c) {
    if (c !== conversation || c.busy || c.queue.length === 0) return;
    clearTimeout(c.retryTimer);
    c.retryTimer = null;
    const item = c.queue[0];
    c.busy = true;
    updateWaiting(c);
    const outcome = await deliver(c, item);
    c.busy = false;
    c.controller = null;
    if (c !== conversation) return; // reset while it was on its way

    switch (outcome.kind) {
      case 'ok':
        c.queue.shift();
        c.failing = false;
        c.retryDelay = RETRY_FIRST_MS;
        if (item.bubble) markSent(item.bubble);
        showReplies(c, outcome.replies);
        break;
      case 'rejected': // 400: sending it again would not help
        c.queue.shift();
        c.failing = false;
        c.retryDelay = RETRY_FIRST_MS;
        if (item.bubble) markSent(item.bubble);
        addBubble('bot', REJECTED_TEXT, c.direction, c.language, 'rejected');
        break;
      case 'signed_out':
        showSignedOut();
        return;
      default: // 'retry'
        c.failing = true;
        for (const queued of c.queue) if (queued.bubble) markUnsent(queued.bubble);
        updateWaiting(c);
        scheduleRetry(c);
        return;
    }
    updateWaiting(c);
    pump(c);
  }

  function scheduleRetry(c) {
    clearTimeout(c.retryTimer);
    const delay = c.retryDelay;
    c.retryDelay = Math.min(RETRY_MAX_MS, Math.round(c.retryDelay * RETRY_FACTOR));
    c.retryTimer = setTimeout(() => {
      c.retryTimer = null;
      pump(c);
    }, delay);
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  async function deliver(c, item) {
    const controller = new AbortController();
    c.controller = controller;
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const body = { sender: c.sender, message_id: item.messageId, text: item.text, tapped: item.tapped };
    if (item.language) body.language = item.language;
    try {
      const response = await fetch(API, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'X-CSRFToken': csrfToken(),
        },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (response.status === 401 || response.type === 'opaqueredirect') return { kind: 'signed_out' };
      const data = await readJson(response);
      if (response.status === 400) {
        // the CSRF token goes with the session: a session that ran out looks like this
        return data && data.error === 'csrf' ? { kind: 'signed_out' } : { kind: 'rejected' };
      }
      if (response.ok) {
        return data && Array.isArray(data.replies) ? { kind: 'ok', replies: data.replies } : { kind: 'retry' };
      }
      if (response.status >= 500 || response.status === 408 || response.status === 429) return { kind: 'retry' };
      return { kind: 'rejected' };
    } catch {
      return { kind: 'retry' }; // network error, timeout, or aborted by a reset (pump checks)
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- a caseworker's replies, fetched while the conversation is on screen ------------------------

  function schedulePoll(c) {
    clearTimeout(c.pollTimer);
    c.pollTimer = setTimeout(() => poll(c), POLL_MS);
  }

  async function poll(c) {
    c.pollTimer = null;
    if (c !== conversation) return;
    // a message on its way brings the replies with its answer: ask again after it
    if (c.queue.length > 0 || c.pollController) {
      schedulePoll(c);
      return;
    }
    const controller = new AbortController();
    c.pollController = controller;
    const timer = setTimeout(() => controller.abort(), POLL_TIMEOUT_MS);
    let texts = [];
    try {
      const response = await fetch(`${UPDATES_API}?conversation=${encodeURIComponent(c.sender)}`, {
        method: 'GET',
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        headers: { Accept: 'application/json' },
        signal: controller.signal,
      });
      if (response.status === 401 || response.type === 'opaqueredirect') {
        if (c === conversation) showSignedOut();
        return;
      }
      const data = response.ok ? await readJson(response) : null;
      if (data && Array.isArray(data.messages)) texts = data.messages;
    } catch {
      // offline, or aborted by a reset: the next round tries again (if the conversation is still on)
    } finally {
      clearTimeout(timer);
      if (c.pollController === controller) c.pollController = null;
    }
    if (c !== conversation) return; // a new participant meanwhile: never show them the last one's
    showPushed(c, texts);
    schedulePoll(c);
  }

  function showPushed(c, texts) {
    let shown = 0;
    for (const text of texts) {
      if (typeof text !== 'string' || text === '') continue;
      // in the conversation's direction and language, like the assistant's replies
      addBubble('bot', text, direction(c.direction), c.language, 'staff');
      shown += 1;
    }
    if (shown > 0) restartIdle(); // something new to read: the tablet does not start over under it
  }

  function stopPolling(c) {
    clearTimeout(c.pollTimer);
    c.pollTimer = null;
    if (c.pollController) c.pollController.abort();
    c.pollController = null;
  }

  // ---- starting, typing, starting over -------------------------------------------------------

  function startConversation(button) {
    if (conversation || signedOut) return;
    const code = button.dataset.code;
    if (!code) return;
    const known = languages.find((l) => l && l.code === code);
    const dir = direction(known ? known.direction : button.dir);
    conversation = {
      sender: randomId(),
      language: code,
      direction: dir,
      queue: [],
      busy: false,
      failing: false,
      started: false,
      controller: null,
      retryTimer: null,
      retryDelay: RETRY_FIRST_MS,
      pollTimer: null,
      pollController: null,
    };
    applyDirection(dir, code);
    startScreen.hidden = true;
    chat.hidden = false;
    button.blur();
    restartIdle();
    enqueue(conversation, '/greet', true, null);
    schedulePoll(conversation);
  }

  function sendTyped() {
    const c = conversation;
    if (!c) return;
    const text = input.value.trim();
    if (text === '') return;
    input.value = '';
    const bubble = addBubble('participant', text, 'auto', c.language);
    enqueue(c, text, false, bubble);
  }

  function bindInput(element) {
    element.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      sendTyped();
    });
  }

  // a new element: the old one's undo history cannot bring the text back
  function freshInput() {
    input.value = '';
    const fresh = input.cloneNode(false);
    fresh.value = '';
    fresh.removeAttribute('dir');
    fresh.removeAttribute('lang');
    input.replaceWith(fresh);
    input = fresh;
    bindInput(fresh);
  }

  function reset() {
    const c = conversation;
    conversation = null;
    stopIdle();
    if (c) {
      stopPolling(c);
      clearTimeout(c.retryTimer);
      c.retryTimer = null;
      if (c.controller) c.controller.abort();
      c.controller = null;
      c.queue.length = 0;
      c.sender = null;
      c.language = null;
    }
    messages.replaceChildren();
    choices.replaceChildren();
    typing.hidden = true;
    typing.classList.remove('stalled');
    freshInput();
    chat.removeAttribute('dir');
    chat.removeAttribute('lang');
    chat.hidden = true;
    startScreen.hidden = false;
    messages.scrollTop = 0;
    startScreen.scrollTop = 0;
    const active = document.activeElement;
    if (active && active !== document.body && typeof active.blur === 'function') active.blur();
    const selection = window.getSelection ? window.getSelection() : null;
    if (selection) selection.removeAllRanges();
  }

  function showSignedOut() {
    reset();
    signedOut = true;
    root.inert = true;
    if (staffBar) staffBar.inert = true;
    signedOutNotice.hidden = false;
    const link = signedOutNotice.querySelector('a');
    if (link) link.focus();
  }

  // ---- the idle timeout: runs only while a conversation is on screen ----------------------------

  function stopIdle() {
    clearTimeout(idleTimer);
    idleTimer = null;
  }

  function restartIdle() {
    stopIdle();
    if (conversation) {
      idleTimer = setTimeout(() => {
        idleTimer = null;
        if (conversation) reset();
      }, idleMs());
    }
  }

  for (const type of ['pointerdown', 'keydown', 'input']) {
    document.addEventListener(type, () => {
      if (conversation) restartIdle();
    }, { capture: true, passive: true });
  }

  // ---- wiring --------------------------------------------------------------------------------

  for (const button of startScreen.querySelectorAll('button.language')) {
    button.addEventListener('click', () => startConversation(button));
  }

  bindInput(input);
  sendButton.addEventListener('click', sendTyped);
  // keep the keyboard open: tapping send does not take the focus from the input
  sendButton.addEventListener('mousedown', (event) => event.preventDefault());

  if (newParticipant) newParticipant.addEventListener('click', reset);

  window.addEventListener('online', () => {
    const c = conversation;
    if (c && c.failing && !c.busy && c.queue.length > 0) {
      c.retryDelay = RETRY_FIRST_MS;
      pump(c);
    }
  });

  // leaving the page (or coming back to it from the back/forward cache) starts over
  window.addEventListener('pagehide', reset);
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) reset();
  });
})();
