import { describe, expect, it } from 'vitest';
import { connectStreamTwiml, dialTwiml, escapeXml, sayAndHangupTwiml } from './twiml.js';

describe('TwiML', () => {
  it('connects a bidirectional stream with custom parameters', () => {
    expect(
      connectStreamTwiml({ streamUrl: 'wss://shop.example/twilio/stream', parameters: { callerNumber: '+15551234567', token: 'v1.1.abc' } }),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://shop.example/twilio/stream">' +
        '<Parameter name="callerNumber" value="+15551234567"/><Parameter name="token" value="v1.1.abc"/>' +
        '</Stream></Connect></Response>',
    );
  });

  it('escapes every value, so nothing can change the document', () => {
    const twiml = connectStreamTwiml({
      streamUrl: 'wss://shop.example/twilio/stream',
      parameters: { callerNumber: '"/><Hangup/><Parameter name="x' },
    });
    expect(twiml).not.toContain('<Hangup/>');
    expect(twiml).toContain('value="&quot;/&gt;&lt;Hangup/&gt;&lt;Parameter name=&quot;x"');
    expect(sayAndHangupTwiml("Tom & Jerry's <garage>")).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Tom &amp; Jerry&apos;s &lt;garage&gt;</Say><Hangup/></Response>',
    );
    expect(escapeXml('a\u0000b\u0007c\td')).toBe('abc\td');
  });

  it('refuses stream URLs Twilio cannot use, and oversized parameters', () => {
    expect(() => connectStreamTwiml({ streamUrl: 'https://shop.example/twilio/stream', parameters: {} })).toThrow(/wss/);
    expect(() => connectStreamTwiml({ streamUrl: 'wss://shop.example/twilio/stream?token=1', parameters: {} })).toThrow(/query/);
    expect(() => connectStreamTwiml({ streamUrl: 'wss://shop.example/s', parameters: { token: 'x'.repeat(500) } })).toThrow(/too long/);
  });

  it('dials a number, optionally announcing it', () => {
    expect(dialTwiml('+15550001111')).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Dial>+15550001111</Dial></Response>');
    expect(dialTwiml(' +15550001111 ', { say: 'One moment.' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>One moment.</Say><Dial>+15550001111</Dial></Response>',
    );
    expect(() => dialTwiml('  ')).toThrow();
  });
});
