// One track per participant under the scrubber, on its time axis (issue 13 §5): who typed when,
// as blocks of edits (a block with a large update is outlined), the participant's integrity
// markers (interviewers only: the server sends them to nobody else), and the shared terminal's
// output. A click on a block or marker seeks there.
import { personColor } from '../../ui/personColor';
import { formatClock } from '../recordings/format';
import type { Track } from './derive';
import './tracks.css';

export default function Tracks(props: { tracks: Track[]; start: number; duration: number; onJump: (at: number) => void }) {
  const { tracks, start, duration } = props;
  if (tracks.length === 0) return null;
  const pct = (at: number) => (duration > 0 ? Math.min(100, Math.max(0, ((at - start) / duration) * 100)) : 0);
  return (
    <div className="pb-tracks" role="group" aria-label="Tracks per participant" data-testid="pb-tracks">
      {tracks.map((track) => {
        const color = track.kind === 'terminal' ? 'var(--text-2)' : personColor(track.userId, track.label);
        return (
          <div key={track.key} className="pb-lane" data-testid="pb-lane" data-lane={track.label}>
            <span className="pb-lane-name small" title={track.label}>
              {track.label}
            </span>
            <div className="pb-lane-bar">
              {track.blocks.map((block) => (
                <button
                  key={block.from}
                  className={`pb-block${block.large ? ' pb-block-large' : ''}`}
                  style={{ left: `${pct(block.from)}%`, width: `max(3px, ${pct(block.to) - pct(block.from)}%)`, background: color }}
                  title={`${formatClock(block.from - start)}–${formatClock(block.to - start)} · ${track.label}: ${block.count} ${
                    track.kind === 'terminal' ? 'outputs' : 'edits'
                  }${block.large ? ' (a large change)' : ''}`}
                  aria-label={`${track.label} at ${formatClock(block.from - start)}`}
                  onClick={() => props.onJump(block.from)}
                />
              ))}
              {track.markers.map((marker) => (
                <button
                  key={marker.index}
                  className="pb-lane-marker"
                  data-testid="pb-integrity-marker"
                  style={{ left: `${pct(marker.at)}%` }}
                  title={`${formatClock(marker.at - start)} · ${track.label} ${marker.label}`}
                  aria-label={`${track.label} ${marker.label} at ${formatClock(marker.at - start)}`}
                  onClick={() => props.onJump(marker.at)}
                />
              ))}
            </div>
          </div>
        );
      })}
    </div>
  );
}
