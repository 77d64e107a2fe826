/*
 * The Parley chat widget: one script tag, no framework.
 *   <script src="https://parley.example.com/widget.js" data-tenant="acme" data-queue="support" async></script>
 * Optional: data-identity="<signed identity JWT>" once the site knows the visitor
 * (the same conversation on every device), or window.Parley.identify(jwt) later;
 * data-attributes='{"cart_value":120}' (or Parley.setAttributes) and
 * data-signed-attributes="<JWT>" (or Parley.setSignedAttributes) for what the page
 * knows of the visitor; data-lang to choose the language (en, de, fr, es).
 * It shows live chat only while an agent can take it (the offer stream), and
 * otherwise lets the visitor leave a message with the expected answer time.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.Parley) return;
  var base = new URL(script.src).origin;
  var tenant = script.getAttribute('data-tenant');
  var queue = script.getAttribute('data-queue') || 'support';
  var key = 'parley:' + tenant + ':';
  var store = {
    get: function (k) {
      try {
        return localStorage.getItem(key + k);
      } catch (e) {
        return null;
      }
    },
    set: function (k, v) {
      try {
        if (v === null) localStorage.removeItem(key + k);
        else localStorage.setItem(key + k, v);
      } catch (e) {
        /* private mode: this page only */
      }
    },
  };
  if (script.getAttribute('data-identity')) store.set('identity', script.getAttribute('data-identity'));
  // What the page says of the visitor (data-attributes, JSON), and what the brand signed of them (data-signed-attributes, a JWT).
  var pageAttributes = {};
  try {
    pageAttributes = JSON.parse(script.getAttribute('data-attributes') || '{}') || {};
  } catch (e) {
    if (window.console) console.error('Parley: data-attributes is not JSON');
  }
  var signedAttributes = script.getAttribute('data-signed-attributes') || null;

  /*
   * Every text the widget shows, one place per language. The language is the
   * script tag's data-lang, else the page's (<html lang>), else the browser's.
   */
  var TEXTS = {
    en: {
      chat: 'Chat with us',
      leave: 'Leave a message',
      leaveTitle: 'Leave us a message',
      close: 'Close the chat',
      conversation: 'Conversation',
      yourMessage: 'Your message',
      placeholder: 'Write a message',
      send: 'Send',
      agentHere: 'An agent is here to answer.',
      closedUntil: 'We are closed. Leave a message: we answer after we open, {when}.',
      nobodyUntil: 'Nobody is here right now. Leave a message: we answer after {when}.',
      busy: 'Our agents are busy. Leave a message: we usually answer within {within}.',
      asap: 'Leave a message and we will answer as soon as we can.',
      you: 'You',
      agent: 'Agent',
      read: 'Read',
      sending: 'Sending',
      sent: 'Sent',
      typing: 'The agent is typing\u2026',
      invitation: 'Invitation to chat',
      chatNow: 'Chat now',
      noThanks: 'No thanks',
      attached: 'Attached to your next message: ',
      minute: 'a minute',
      minutes: '{n} minutes',
      hours: '{n} hours',
      days: '{n} days',
      newMessage: '{n} new message',
      newMessages: '{n} new messages',
      surveyQuestion: 'How would you rate our help?',
      surveyScore: '{n} of 5',
      surveyThanks: 'Thank you for your rating!',
      attachFile: 'Attach a file',
      attachFailed: 'The file could not be attached: {reason}',
    },
    de: {
      chat: 'Chatten Sie mit uns',
      leave: 'Nachricht hinterlassen',
      leaveTitle: 'Hinterlassen Sie uns eine Nachricht',
      close: 'Chat schließen',
      conversation: 'Unterhaltung',
      yourMessage: 'Ihre Nachricht',
      placeholder: 'Nachricht schreiben',
      send: 'Senden',
      agentHere: 'Ein Mitarbeiter ist da und antwortet Ihnen.',
      closedUntil: 'Wir haben geschlossen. Hinterlassen Sie eine Nachricht: Wir antworten, sobald wir öffnen, {when}.',
      nobodyUntil: 'Gerade ist niemand da. Hinterlassen Sie eine Nachricht: Wir antworten ab {when}.',
      busy: 'Unsere Mitarbeiter sind beschäftigt. Hinterlassen Sie eine Nachricht: Wir antworten meist innerhalb von {within}.',
      asap: 'Hinterlassen Sie eine Nachricht, wir antworten so bald wie möglich.',
      you: 'Sie',
      agent: 'Mitarbeiter',
      read: 'Gelesen',
      sending: 'Wird gesendet',
      sent: 'Gesendet',
      typing: 'Der Mitarbeiter schreibt\u2026',
      invitation: 'Einladung zum Chat',
      chatNow: 'Jetzt chatten',
      noThanks: 'Nein, danke',
      attached: 'An Ihre nächste Nachricht angehängt: ',
      minute: 'einer Minute',
      minutes: '{n} Minuten',
      hours: '{n} Stunden',
      days: '{n} Tagen',
      newMessage: '{n} neue Nachricht',
      newMessages: '{n} neue Nachrichten',
      surveyQuestion: 'Wie zufrieden waren Sie mit unserer Hilfe?',
      surveyScore: '{n} von 5',
      surveyThanks: 'Vielen Dank für Ihre Bewertung!',
      attachFile: 'Datei anhängen',
      attachFailed: 'Die Datei konnte nicht angehängt werden: {reason}',
    },
    fr: {
      chat: 'Discutez avec nous',
      leave: 'Laisser un message',
      leaveTitle: 'Laissez-nous un message',
      close: 'Fermer la discussion',
      conversation: 'Conversation',
      yourMessage: 'Votre message',
      placeholder: 'Écrivez un message',
      send: 'Envoyer',
      agentHere: 'Un conseiller est là pour vous répondre.',
      closedUntil: 'Nous sommes fermés. Laissez un message : nous répondrons après l’ouverture, {when}.',
      nobodyUntil: 'Personne n’est disponible pour le moment. Laissez un message : nous répondrons après {when}.',
      busy: 'Nos conseillers sont occupés. Laissez un message : nous répondons en général sous {within}.',
      asap: 'Laissez un message, nous vous répondrons dès que possible.',
      you: 'Vous',
      agent: 'Conseiller',
      read: 'Lu',
      sending: 'Envoi',
      sent: 'Envoyé',
      typing: 'Le conseiller écrit\u2026',
      invitation: 'Invitation à discuter',
      chatNow: 'Discuter',
      noThanks: 'Non merci',
      attached: 'Joint à votre prochain message : ',
      minute: 'une minute',
      minutes: '{n} minutes',
      hours: '{n} heures',
      days: '{n} jours',
      newMessage: '{n} nouveau message',
      newMessages: '{n} nouveaux messages',
      surveyQuestion: 'Comment évaluez-vous notre aide ?',
      surveyScore: '{n} sur 5',
      surveyThanks: 'Merci pour votre évaluation !',
      attachFile: 'Joindre un fichier',
      attachFailed: 'Le fichier n’a pas pu être joint : {reason}',
    },
    es: {
      chat: 'Chatea con nosotros',
      leave: 'Dejar un mensaje',
      leaveTitle: 'Déjenos un mensaje',
      close: 'Cerrar el chat',
      conversation: 'Conversación',
      yourMessage: 'Su mensaje',
      placeholder: 'Escriba un mensaje',
      send: 'Enviar',
      agentHere: 'Un agente está aquí para responderle.',
      closedUntil: 'Estamos cerrados. Deje un mensaje: responderemos cuando abramos, {when}.',
      nobodyUntil: 'Ahora no hay nadie. Deje un mensaje: responderemos después de {when}.',
      busy: 'Nuestros agentes están ocupados. Deje un mensaje: solemos responder en {within}.',
      asap: 'Deje un mensaje y le responderemos lo antes posible.',
      you: 'Usted',
      agent: 'Agente',
      read: 'Leído',
      sending: 'Enviando',
      sent: 'Enviado',
      typing: 'El agente está escribiendo\u2026',
      invitation: 'Invitación a chatear',
      chatNow: 'Chatear ahora',
      noThanks: 'No, gracias',
      attached: 'Adjunto a su próximo mensaje: ',
      minute: 'un minuto',
      minutes: '{n} minutos',
      hours: '{n} horas',
      days: '{n} días',
      newMessage: '{n} mensaje nuevo',
      newMessages: '{n} mensajes nuevos',
      surveyQuestion: '¿Cómo valoraría nuestra ayuda?',
      surveyScore: '{n} de 5',
      surveyThanks: '¡Gracias por su valoración!',
      attachFile: 'Adjuntar un archivo',
      attachFailed: 'No se pudo adjuntar el archivo: {reason}',
    },
  };
  var lang = (function () {
    var wanted = [script.getAttribute('data-lang'), document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || '')
        .slice(0, 2)
        .toLowerCase();
      if (TEXTS[code]) return code;
    }
    return 'en';
  })();
  function t(name, values) {
    var text = TEXTS[lang][name] || TEXTS.en[name];
    for (var k in values || {}) text = text.replace('{' + k + '}', values[k]);
    return text;
  }

  var css =
    '.parley-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.4 system-ui,sans-serif;border:0;border-radius:24px;padding:12px 20px;background:#1f4fd1;color:#fff;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}' +
    '.parley-launcher:focus-visible,.parley-panel button:focus-visible,.parley-panel textarea:focus-visible{outline:3px solid #ffb000;outline-offset:2px}' +
    '.parley-launcher.parley-away{background:#44546a}' +
    '.parley-panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:460px;display:flex;flex-direction:column;background:#fff;color:#111;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif;overflow:hidden}' +
    '.parley-panel[hidden]{display:none}.parley-head{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:#1f4fd1;color:#fff}.parley-head h2{font-size:15px;margin:0}' +
    '.parley-head button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}.parley-note{padding:8px 14px;background:#f2f5fb;font-size:13px}' +
    '.parley-log{flex:1;overflow-y:auto;padding:10px 14px;margin:0}.parley-list{list-style:none;margin:0;padding:0}.parley-badge{display:inline-block;margin-left:8px;min-width:20px;padding:0 6px;border-radius:10px;background:#fff;color:#1f4fd1;font-weight:bold}' +
    '@media (max-width:420px){.parley-panel{right:8px;left:8px;width:auto;max-width:none;bottom:72px;height:70vh}.parley-launcher{right:12px;bottom:12px}.parley-invite{right:8px;left:8px;width:auto}}' +
    '.parley-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}' +
    '.parley-log li{margin:6px 0;max-width:85%;padding:6px 10px;border-radius:10px;background:#eef0f4;word-wrap:break-word}' +
    '.parley-log li.parley-mine{margin-left:auto;background:#dbe6ff}.parley-log small{display:block;color:#555;font-size:11px}.parley-typing{padding:0 14px;height:18px;color:#555;font-size:12px}' +
    '.parley-form{display:flex;gap:6px;padding:10px;border-top:1px solid #e3e6ec}.parley-form textarea{flex:1;resize:none;height:38px;font:inherit;padding:6px;border:1px solid #b8bfcc;border-radius:6px}' +
    '.parley-form button{border:0;border-radius:6px;background:#1f4fd1;color:#fff;padding:0 14px;cursor:pointer}' +
    '.parley-invite{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:280px;padding:12px 14px;background:#fff;color:#111;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif}' +
    '.parley-survey{padding:8px 14px;border-top:1px solid #e3e6ec}.parley-survey p{margin:0 0 6px}.parley-survey button{margin-right:6px;min-width:36px;padding:6px;border:1px solid #1f4fd1;border-radius:6px;background:#fff;color:#1f4fd1;cursor:pointer}' +
    '.parley-invite button{margin:8px 8px 0 0;border:0;border-radius:6px;padding:6px 12px;cursor:pointer;background:#e3e6ec}.parley-invite button.parley-yes{background:#1f4fd1;color:#fff}';

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  var launcher = el('button', { type: 'button', class: 'parley-launcher', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', hidden: '' });
  var panel = el('div', { class: 'parley-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'parley-title', hidden: '' });
  var head = el('div', { class: 'parley-head' });
  var title = el('h2', { id: 'parley-title' }, t('chat'));
  var close = el('button', { type: 'button', 'aria-label': t('close') }, '\u00d7');
  var note = el('p', { class: 'parley-note', role: 'status' });
  // A log region holding a plain list: list items stay inside their list for assistive technology.
  var log = el('div', { class: 'parley-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('conversation') });
  var list = el('ol', { class: 'parley-list' });
  log.appendChild(list);
  var typing = el('div', { class: 'parley-typing', 'aria-live': 'polite' });
  var chips = el('div', { class: 'parley-typing', 'aria-live': 'polite' });
  var form = el('form', { class: 'parley-form' });
  var input = el('textarea', { 'aria-label': t('yourMessage'), placeholder: t('placeholder'), maxlength: '4096' });
  var send = el('button', { type: 'submit' }, t('send'));
  head.append(title, close);
  // Files go up to Parley on their own (the visitor's token as the bearer) and ride along with the next message.
  var fileInput = el('input', { type: 'file', hidden: '', accept: 'image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain' });
  var attachButton = el('button', { type: 'button', 'aria-label': t('attachFile'), title: t('attachFile') }, '\ud83d\udcce');
  attachButton.addEventListener('click', function () {
    fileInput.click();
  });
  fileInput.addEventListener('change', function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (!file) return;
    visitorToken()
      .then(function (token) {
        var headers = {
          authorization: 'Bearer ' + token,
          'content-type': file.type || 'application/octet-stream',
          'x-parley-filename': encodeURIComponent(file.name),
        };
        if (store.get('identity')) headers['x-parley-identity'] = store.get('identity');
        return fetch(base + '/live/attachments', { method: 'POST', headers: headers, body: file });
      })
      .then(function (r) {
        return r.json().then(function (b) {
          if (r.status !== 201) throw new Error(b.message || String(r.status));
          window.Parley.attach(b);
        });
      })
      .catch(function (e) {
        chips.textContent = t('attachFailed', { reason: e.message });
      });
  });
  form.append(fileInput, attachButton, input, send);
  // Asked once the conversation is resolved with a survey; answered with one click.
  var survey = el('div', { class: 'parley-survey', role: 'group', 'aria-labelledby': 'parley-survey-q', hidden: '' });
  var question = el('p', { id: 'parley-survey-q' }, t('surveyQuestion'));
  survey.appendChild(question);
  [1, 2, 3, 4, 5].forEach(function (n) {
    var star = el('button', { type: 'button', 'aria-label': t('surveyScore', { n: n }), 'data-score': String(n) }, String(n));
    star.addEventListener('click', function () {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: 'rate', score: n }));
    });
    survey.appendChild(star);
  });
  panel.append(head, note, log, typing, chips, survey, form);
  function askSurvey() {
    question.textContent = t('surveyQuestion');
    Array.prototype.forEach.call(survey.querySelectorAll('button'), function (b) {
      b.hidden = false;
    });
    survey.hidden = false;
  }
  function thank() {
    question.textContent = t('surveyThanks');
    Array.prototype.forEach.call(survey.querySelectorAll('button'), function (b) {
      b.hidden = true;
    });
  }

  var offer = null;
  var socket = null;
  var messages = {};
  var readUpTo = null;
  var conversationId = null;
  var outbox = [];
  var attached = [];
  var connected = false;
  var unread = 0;
  var launcherText = '';
  var retryDelay = 1000;
  var refused = false;
  var events = null;

  // What the host page may listen to: parley:identity-rejected, parley:signed-out, parley:unread.
  function notify(name, detail) {
    try {
      window.dispatchEvent(new CustomEvent('parley:' + name, { detail: detail }));
    } catch (e) {
      /* very old browsers */
    }
  }

  function paintLauncher() {
    launcher.textContent = launcherText;
    if (unread > 0) {
      launcher.appendChild(el('span', { class: 'parley-badge', 'aria-hidden': 'true' }, String(unread)));
      launcher.setAttribute('aria-label', launcherText + ', ' + t(unread === 1 ? 'newMessage' : 'newMessages', { n: unread }));
    } else launcher.removeAttribute('aria-label');
  }

  // This website may not carry the tenant's widget: say so to the site's developer, show nothing.
  function refuse(message) {
    refused = true;
    if (events) events.close();
    launcher.hidden = true;
    panel.hidden = true;
    if (socket) socket.close();
    if (window.console) console.error('Parley: ' + message);
  }

  function describeOffer() {
    if (!offer) return;
    launcher.hidden = false;
    var live = offer.kind === 'live-chat';
    launcherText = live ? t('chat') : t('leave');
    paintLauncher();
    launcher.classList.toggle('parley-away', !live);
    title.textContent = live ? t('chat') : t('leaveTitle');
    if (live) note.textContent = t('agentHere');
    else if (offer.reason === 'closed' && offer.opensAt) note.textContent = t('closedUntil', { when: when(offer.opensAt) });
    else if (offer.opensAt) note.textContent = t('nobodyUntil', { when: when(offer.opensAt) });
    else if (offer.expectedAnswerSeconds != null) note.textContent = t('busy', { within: humanize(offer.expectedAnswerSeconds) });
    else note.textContent = t('asap');
  }

  // In the visitor's own time zone and language.
  var WHEN = { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  function when(iso) {
    return new Date(iso).toLocaleString(lang, WHEN);
  }

  function humanize(seconds) {
    if (seconds < 90) return t('minute');
    if (seconds < 5400) return t('minutes', { n: Math.round(seconds / 60) });
    if (seconds < 129600) return t('hours', { n: Math.round(seconds / 3600) });
    return t('days', { n: Math.round(seconds / 86400) });
  }

  function render(message) {
    // The stored message replaces the one shown while it was being sent.
    var sent = /^web-(.*)$/.exec(message.id);
    if (sent && messages['pending-' + sent[1]]) {
      delete messages['pending-' + sent[1]];
      var pending = document.getElementById('parley-m-pending-' + sent[1]);
      if (pending) pending.remove();
    }
    var item = document.getElementById('parley-m-' + message.id);
    if (!item) {
      item = el('li', { id: 'parley-m-' + message.id, class: message.inbound ? 'parley-mine' : '' });
      list.appendChild(item);
    }
    item.textContent = message.text || '';
    (message.attachments || []).forEach(function (a) {
      var blob = /^blob:([A-Za-z0-9_-]{22})$/.exec(a.ref);
      var link = el('a', { href: blob ? '#' : a.ref, target: '_blank', rel: 'noopener' }, a.name || a.mimeType || 'attachment');
      // Parley keeps this file: fetched with the visitor's token, then opened from memory.
      if (blob)
        link.addEventListener('click', function (e) {
          e.preventDefault();
          visitorToken()
            .then(function (token) {
              var headers = { authorization: 'Bearer ' + token };
              if (store.get('identity')) headers['x-parley-identity'] = store.get('identity');
              return fetch(base + '/live/attachments/' + blob[1], { headers: headers });
            })
            .then(function (r) {
              return r.blob();
            })
            .then(function (b) {
              // Only types a browser shows without running anything open on the brand's page; the rest is saved.
              var shown = /^(image\/(jpeg|png|gif|webp)|application\/pdf|text\/plain)$/.test(b.type);
              var url = URL.createObjectURL(shown ? b : new Blob([b], { type: 'application/octet-stream' }));
              if (shown) return void window.open(url, '_blank', 'noopener');
              var save = el('a', { href: url, download: a.name || 'attachment' });
              save.click();
            });
        });
      item.appendChild(el('br', {}));
      item.appendChild(link);
    });
    // Read by the agent: marked live (readUpTo) or, after a reload, as the history says (readAt).
    var read = message.inbound && !message.pending && (message.readAt || (readUpTo && message.at <= readUpTo));
    var meta = el(
      'small',
      {},
      (message.inbound ? t('you') : t('agent')) +
        ' \u00b7 ' +
        new Date(message.at).toLocaleTimeString(lang) +
        (read ? ' \u00b7 ' + t('read') : message.pending ? ' \u00b7 ' + t('sending') : message.inbound ? ' \u00b7 ' + t('sent') : ''),
    );
    if (read) meta.setAttribute('data-read', 'true');
    item.appendChild(meta);
    messages[message.id] = message;
    log.scrollTop = log.scrollHeight;
  }

  // The page and what it says of the visitor, for the agent (recorded once the conversation has a message).
  function sendContext() {
    if (!socket || socket.readyState !== 1 || !connected) return;
    socket.send(JSON.stringify({ type: 'context', url: location.href, attributes: pageAttributes, signed: signedAttributes || undefined }));
  }

  function flush() {
    if (!socket || socket.readyState !== 1 || !connected) return;
    outbox.forEach(function (m) {
      socket.send(JSON.stringify({ type: 'message', id: m.id, text: m.text || undefined, attachments: m.attachments }));
    });
  }

  function markRead() {
    if (socket && socket.readyState === 1 && !panel.hidden) socket.send(JSON.stringify({ type: 'read' }));
  }

  function visitorToken() {
    var token = store.get('token');
    if (token) return Promise.resolve(token);
    return fetch(base + '/live/visitors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: tenant }) })
      .then(function (r) {
        if (r.status === 403)
          return r.json().then(function (b) {
            refuse(b.message);
            throw new Error(b.error);
          });
        if (!r.ok) throw new Error('visitor token refused: ' + r.status);
        return r.json();
      })
      .then(function (body) {
        store.set('token', body.token);
        return body.token;
      });
  }

  function connect() {
    if (socket || refused) return;
    visitorToken()
      .then(function (token) {
        if (socket || refused) return;
        var url = base.replace(/^http/, 'ws') + '/live?token=' + encodeURIComponent(token);
        var identity = store.get('identity');
        if (identity) url += '&identity=' + encodeURIComponent(identity);
        var ws = new WebSocket(url);
        socket = ws;
        ws.onmessage = function (frame) {
          // A socket replaced (signed in or out meanwhile) says nothing any more.
          if (socket !== ws) return;
          var m = JSON.parse(frame.data);
          if (m.type === 'ready') {
            conversationId = m.conversationId;
            connected = true;
            list.textContent = '';
            messages = {};
            retryDelay = 1000;
            store.set('conversation', m.conversationId);
            m.messages.forEach(render);
            outbox = outbox.filter(function (o) {
              return !messages['web-' + o.id];
            });
            outbox.forEach(function (o) {
              render({ id: 'pending-' + o.id, inbound: true, text: o.text, attachments: o.attachments, at: new Date().toISOString(), pending: true });
            });
            flush();
            markRead();
            if (m.survey) askSurvey();
            else survey.hidden = true;
            sendContext();
          } else if (m.type === 'survey') {
            askSurvey();
            if (panel.hidden) {
              unread++;
              paintLauncher();
            }
          } else if (m.type === 'rated') {
            thank();
          } else if (m.type === 'message') {
            render(m.message);
            // The visitor writes again: the conversation goes on, the survey is not asked any more.
            if (m.message.inbound) survey.hidden = true;
            if (!m.message.inbound) {
              typing.textContent = '';
              markRead();
              // A reply while the chat is closed: counted on the button until the visitor opens it.
              if (panel.hidden) {
                unread++;
                paintLauncher();
                notify('unread', { count: unread });
              }
            }
          } else if (m.type === 'ack') {
            outbox = outbox.filter(function (o) {
              return o.id !== m.id;
            });
          }
          if (m.type === 'ack') {
            var mine = messages['pending-' + m.id];
            if (mine && !messages[m.messageId]) render({ id: m.messageId, inbound: true, text: mine.text, attachments: mine.attachments, at: mine.at });
          } else if (m.type === 'receipt' && m.reader === 'agent' && m.status === 'read') {
            readUpTo = m.upTo || m.at;
            Object.keys(messages).forEach(function (id) {
              render(messages[id]);
            });
          } else if (m.type === 'typing') typing.textContent = m.on ? t('typing') : '';
          else if (m.type === 'error' && m.code === 'VISITOR_TOKEN_INVALID') {
            store.set('token', null);
            retryDelay = 250;
          } else if (m.type === 'error' && m.code === 'IDENTITY_TOKEN_INVALID') {
            // Expired or not the brand's: go on as an anonymous visitor, and let the page sign the user in again.
            store.set('identity', null);
            retryDelay = 250;
            notify('identity-rejected', { reason: m.message });
          } else if (m.type === 'error' && m.code === 'ORIGIN_NOT_ALLOWED') refuse(m.message);
        };
        ws.onclose = function () {
          if (socket !== ws) return;
          socket = null;
          connected = false;
          if (refused || (panel.hidden && !store.get('conversation'))) return;
          setTimeout(connect, retryDelay);
          retryDelay = Math.min(retryDelay * 2, 30000);
        };
      })
      .catch(function () {
        if (!refused) {
          setTimeout(connect, retryDelay);
          retryDelay = Math.min(retryDelay * 2, 30000);
        }
      });
  }

  function toggle(open) {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    store.set('open', open ? '1' : null);
    if (open) {
      unread = 0;
      paintLauncher();
      connect();
      input.focus();
      markRead();
    } else launcher.focus();
  }

  var typingSent = false;
  input.addEventListener('input', function () {
    var on = input.value.length > 0;
    if (on !== typingSent && socket && socket.readyState === 1) {
      typingSent = on;
      socket.send(JSON.stringify({ type: 'typing', on: on }));
    }
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text && !attached.length) return;
    var id = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    // Kept until the server acknowledges it; sent again with the same id after a reconnect (idempotent).
    outbox.push({ id: id, text: text, attachments: attached });
    render({ id: 'pending-' + id, inbound: true, text: text, attachments: attached, at: new Date().toISOString(), pending: true });
    attached = [];
    chips.textContent = '';
    flush();
    input.value = '';
    typingSent = false;
  });
  launcher.addEventListener('click', function () {
    toggle(panel.hidden);
  });
  close.addEventListener('click', function () {
    toggle(false);
  });
  panel.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') toggle(false);
  });

  // Proactive invitations: asked as the visitor reads the page; the server applies the
  // targeting rules, only while live chat is offered, and at most once per period.
  var shownAt = Date.now();
  var pages = Number(store.get('pages') || 0) + 1;
  var returning = store.get('seen') === '1';
  store.set('pages', String(pages));
  store.set('seen', '1');
  var invite = el('div', { class: 'parley-invite', role: 'dialog', 'aria-label': t('invitation'), hidden: '' });
  var announcer = el('div', { class: 'parley-sr', 'aria-live': 'polite' });
  function askInvitation(tries) {
    if (tries <= 0 || !panel.hidden) return;
    if (!offer || offer.kind !== 'live-chat')
      return void setTimeout(function () {
        askInvitation(tries - 1);
      }, 5000);
    visitorToken()
      .then(function (token) {
        return fetch(base + '/live/invitations', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            token: token,
            queue: queue,
            url: location.href,
            timeOnPageSeconds: Math.floor((Date.now() - shownAt) / 1000),
            pagesViewed: pages,
            returningVisitor: returning,
            attributes: pageAttributes,
            signedAttributes: signedAttributes || undefined,
          }),
        });
      })
      .then(function (r) {
        return r.json().then(function (b) {
          if (r.status === 400 && window.console) console.error('Parley: ' + b.message);
          return b;
        });
      })
      .then(function (b) {
        if (b.invitation && panel.hidden) showInvitation(b.invitation);
        else if (!b.invitation)
          setTimeout(function () {
            askInvitation(tries - 1);
          }, 5000);
      })
      .catch(function () {
        /* no invitation this time */
      });
  }
  function showInvitation(invitation) {
    invite.textContent = '';
    var yes = el('button', { type: 'button', class: 'parley-yes' }, t('chatNow'));
    var no = el('button', { type: 'button' }, t('noThanks'));
    invite.append(el('p', {}, invitation.message), yes, no);
    invite.hidden = false;
    // Announced, and the focus moves to it; dismissing it gives the focus back where it was.
    announcer.textContent = invitation.message;
    var before = document.activeElement;
    yes.focus();
    var answer = function (accepted) {
      invite.hidden = true;
      announcer.textContent = '';
      if (!accepted && before && before.focus) before.focus();
      visitorToken().then(function (token) {
        fetch(base + '/live/invitations/answer', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: token, ruleId: invitation.ruleId, accepted: accepted }),
        });
      });
      if (accepted) toggle(true);
    };
    yes.addEventListener('click', function () {
      answer(true);
    });
    no.addEventListener('click', function () {
      answer(false);
    });
    invite.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') answer(false);
    });
  }

  function watchOffer() {
    var where = '?tenant=' + encodeURIComponent(tenant) + '&queue=' + encodeURIComponent(queue);
    // A plain request first: a refused website learns why (an event stream would only fail).
    fetch(base + '/live/offer' + where)
      .then(function (r) {
        if (r.status === 403)
          return r.json().then(function (b) {
            refuse(b.message);
          });
        events = new EventSource(base + '/live/offer/stream' + where);
        events.onmessage = function (e) {
          offer = JSON.parse(e.data);
          describeOffer();
        };
      })
      .catch(function () {
        setTimeout(watchOffer, 5000);
      });
  }

  function start() {
    var style = el('style', {});
    style.textContent = css;
    document.head.appendChild(style);
    document.body.append(launcher, panel, invite, announcer);
    watchOffer();
    setTimeout(
      function () {
        askInvitation(24);
      },
      Number(script.getAttribute('data-invite-after') || 2000),
    );
    if (store.get('open')) toggle(true);
    // A visitor who has written before hears of replies on any page, the chat closed.
    else if (store.get('conversation')) connect();
  }

  window.Parley = {
    /** What the page says of the visitor (cart value, plan...): steers invitations, shown to agents as unverified. */
    setAttributes: function (attributes) {
      pageAttributes = attributes || {};
      sendContext();
    },
    /** The same, signed by the brand's server (HS256 with its identity secret, claim `attributes`): trusted. */
    setSignedAttributes: function (jwt) {
      signedAttributes = jwt || null;
      sendContext();
    },
    /** The site identified the visitor: the same conversation on every device from now on. */
    identify: function (jwt) {
      if (jwt === null || jwt === undefined) return window.Parley.signOut();
      store.set('identity', jwt);
      var old = socket;
      socket = null;
      if (old) old.close();
      if (!panel.hidden) connect();
    },
    /** The user signed out of the site (a shared computer): a new anonymous visitor, nothing of the previous conversation shown. */
    signOut: function () {
      ['identity', 'token', 'conversation', 'open'].forEach(function (k) {
        store.set(k, null);
      });
      var old = socket;
      socket = null;
      if (old) old.close();
      conversationId = null;
      messages = {};
      outbox = [];
      readUpTo = null;
      unread = 0;
      list.textContent = '';
      paintLauncher();
      notify('signed-out', {});
      if (!panel.hidden) connect();
    },
    open: function () {
      toggle(true);
    },
    /**
     * Attachments are references: the site stores the file (its own upload), then
     * hands the widget { ref: URL, mimeType, sizeBytes, name }; it goes with the next message.
     */
    attach: function (attachment) {
      attached.push({
        ref: String(attachment.ref),
        mimeType: String(attachment.mimeType),
        sizeBytes: Number(attachment.sizeBytes),
        name: attachment.name ? String(attachment.name) : undefined,
      });
      chips.textContent =
        t('attached') +
        attached
          .map(function (a) {
            return a.name || a.ref;
          })
          .join(', ');
    },
    /** The conversation's id once connected, for the site's own support tools. */
    conversation: function () {
      return conversationId;
    },
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
