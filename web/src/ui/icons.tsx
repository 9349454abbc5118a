// Inline SVG icons (no icon font, no emoji: headless and minimal systems may lack emoji fonts).
import type { SVGProps } from 'react';

function Svg(props: SVGProps<SVGSVGElement>) {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" {...props} />
  );
}

export const ChatIcon = () => (
  <Svg>
    <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" />
  </Svg>
);
export const PeopleIcon = () => (
  <Svg>
    <path d="M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2" />
    <circle cx="9" cy="7" r="4" />
    <path d="M23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75" />
  </Svg>
);
export const TrashIcon = () => (
  <Svg width="13" height="13">
    <path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6" />
  </Svg>
);
export const LockIcon = () => (
  <Svg width="12" height="12">
    <rect x="4" y="11" width="16" height="10" rx="2" />
    <path d="M8 11V7a4 4 0 0 1 8 0v4" />
  </Svg>
);
export const TerminalIcon = () => (
  <Svg>
    <path d="M4 17l6-5-6-5M12 19h8" />
  </Svg>
);
export const RecordIcon = () => (
  <Svg>
    <circle cx="12" cy="12" r="9" />
    <circle cx="12" cy="12" r="4" fill="currentColor" />
  </Svg>
);
export const StepBackIcon = () => (
  <Svg>
    <path d="M19 20L9 12l10-8v16zM5 19V5" />
  </Svg>
);
export const StepForwardIcon = () => (
  <Svg>
    <path d="M5 4l10 8-10 8V4zM19 5v14" />
  </Svg>
);
