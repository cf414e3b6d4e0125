/**
 * One look per stem type, shared by the Discord stems message (the icon in
 * front of each stem) and the stem player (the lane's colour): the colours are
 * those of the coloured-circle emoji as Discord draws them (Twemoji), so a
 * stem has the same colour in both places.
 */

export interface StemStyle {
  icon: string;
  /** CSS hex colour of the icon. */
  colour: string;
}

const STYLES: Record<string, StemStyle> = {
  vocals: { icon: '🟣', colour: '#aa8ed6' },
  drums: { icon: '🟠', colour: '#f4900c' },
  bass: { icon: '🔵', colour: '#55acee' },
  other: { icon: '🟢', colour: '#78b159' },
  guitar: { icon: '🟡', colour: '#fdcb58' },
  piano: { icon: '🔴', colour: '#dd2e44' },
  accompaniment: { icon: '🟤', colour: '#c1694f' },
};

const FALLBACK: StemStyle = { icon: '⚪', colour: '#99aab5' };

export function stemStyle(stemType: string): StemStyle {
  return Object.hasOwn(STYLES, stemType) ? STYLES[stemType]! : FALLBACK;
}
