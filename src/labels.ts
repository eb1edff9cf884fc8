// Class-label lists: the ImageNet synset format (`n01440764 tench, Tinca tinca`) or plain text,
// one label per line. Browser-safe.

import { ShuffleNetError } from '../bindings/errors.js';

/** One parsed label line. */
export type LabelEntry = {
  /** WordNet id such as 'n01440764', or null for plain-text lines. */
  wnid: string | null;
  /** Full label: the text after the WordNet id, e.g. 'tench, Tinca tinca'. */
  label: string;
  /** Display name: the first comma-separated part, e.g. 'tench'. */
  short: string;
};

const SYNSET_LINE = /^([a-z]\d{8})\s+(.*)$/;

/** The first comma-separated part of a label ('tench, Tinca tinca' -> 'tench'). */
export function shortLabel(label: string): string {
  const i = label.indexOf(',');
  return (i < 0 ? label : label.slice(0, i)).trim();
}

/**
 * Parses a label file into entries, one per line (line i is class i). Synset lines lose their
 * WordNet id; other lines are taken whole. Trailing empty lines, surrounding whitespace, a BOM
 * and CRLF line ends are ignored. Empty lines in the middle are kept (as '') so indices stay aligned.
 */
export function parseLabelEntries(text: string): LabelEntry[] {
  if (typeof text !== 'string') {
    throw new ShuffleNetError('E_ARGUMENT', `parseLabels: expected the label file's text (a string), got ${typeof text}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    const m = SYNSET_LINE.exec(line);
    const label = m ? m[2].trim() : line;
    return { wnid: m ? m[1] : null, label, short: shortLabel(label) };
  });
}

/** Parses a label file into full labels (index = class id), e.g. labels[0] === 'tench, Tinca tinca'. */
export function parseLabels(text: string): string[] {
  return parseLabelEntries(text).map((e) => e.label);
}

/** Parses a label file into short display names, e.g. names[0] === 'tench'. */
export function parseShortLabels(text: string): string[] {
  return parseLabelEntries(text).map((e) => e.short);
}
