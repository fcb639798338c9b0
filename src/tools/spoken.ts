/** Small pieces of spoken English shared by the tools' messages. */

/** "a", "a and b", "a, b, and c". */
export function spokenList(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

/** "an oil change", "a brake service": a service name as said in a sentence. */
export function withArticle(serviceType: string): string {
  const name = serviceType.toLowerCase();
  return `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}
