/**
 * Padded base64 (either alphabet) to bytes; undefined when it is not base64. Node's decoder skips
 * what it cannot read, so text with anything else in it decodes to fewer bytes than its length
 * says: one pass, no regular expression over every 20 ms frame.
 *
 * The bytes are a view into Buffer's shared pool, not an array of their own: a copy costs more
 * than the decoding (bench/hot-path.ts), and a frame is passed on and dropped within the event
 * loop's turn (the STT and the VAD copy what they keep). A view that is kept longer holds its
 * pool slab (8 KB) in memory, never wrong bytes: Node does not reuse a slab.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const size = (text.length / 4) * 3 - padding;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === size ? new Uint8Array(decoded.buffer, decoded.byteOffset, size) : undefined;
}
