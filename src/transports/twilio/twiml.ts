/**
 * TwiML documents the webhook answers with. Every value passes through one escaper, so a caller
 * number or a shop-configured phrase can never change the document's structure.
 * https://www.twilio.com/docs/voice/twiml/stream
 */

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
/** Twilio: each <Parameter>'s name and value together must stay under 500 characters. */
const MAX_PARAMETER_CHARS = 500;

/** Escapes text for an XML attribute or element, dropping characters XML 1.0 cannot carry. */
export function escapeXml(value: string): string {
  return (
    value
      // Control characters are not allowed in XML 1.0 even escaped; a parser would reject the document.
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function document(body: string): string {
  return `${XML_DECLARATION}<Response>${body}</Response>`;
}

/**
 * Connects the call to our media stream (bidirectional). Twilio presents `parameters` back in the
 * stream's `start` message. Nothing follows </Connect>: when we close the socket, the call ends.
 */
export function connectStreamTwiml(input: {
  streamUrl: string;
  parameters: Readonly<Record<string, string>>;
}): string {
  const url = new URL(input.streamUrl);
  // Twilio only streams to wss, and a query string on the url breaks the handshake (error 31920).
  if (url.protocol !== 'wss:') throw new Error(`stream url must use wss://, got ${url.protocol}`);
  if (url.search !== '' || input.streamUrl.includes('?')) {
    throw new Error('stream url must not carry a query string: pass values as parameters');
  }
  const parameters = Object.entries(input.parameters)
    .map(([name, value]) => {
      if (name === '') throw new Error('stream parameter names must not be empty');
      if (name.length + value.length >= MAX_PARAMETER_CHARS) {
        throw new Error(`stream parameter "${name}" is too long (name + value must be under ${MAX_PARAMETER_CHARS} characters)`);
      }
      return `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`;
    })
    .join('');
  return document(`<Connect><Stream url="${escapeXml(input.streamUrl)}">${parameters}</Stream></Connect>`);
}

/** Says something and hangs up: at capacity, or when the call cannot be served. */
export function sayAndHangupTwiml(text: string): string {
  return document(`<Say>${escapeXml(text)}</Say><Hangup/>`);
}

/** Transfers the call to `number`, optionally saying something first. */
export function dialTwiml(number: string, options: { say?: string } = {}): string {
  const trimmed = number.trim();
  if (trimmed === '') throw new Error('dial number must not be empty');
  const say = options.say === undefined || options.say.trim() === '' ? '' : `<Say>${escapeXml(options.say)}</Say>`;
  return document(`${say}<Dial>${escapeXml(trimmed)}</Dial>`);
}
