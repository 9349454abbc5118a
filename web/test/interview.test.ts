import { describe, expect, it } from 'vitest';
import { heldBy, parseTags, type Interview } from '../src/features/interview/interviewApi';
import { markdownToHtml } from '../src/features/interview/markdown';
import { toInput } from '../src/features/interview/QuestionBank';
import { clockSkew, formatClock, timerValue } from '../src/features/interview/timer';

describe('prompt Markdown', () => {
  it('renders Markdown', () => {
    const html = markdownToHtml('# Two sum\n\nFind **two** numbers.\n\n```py\nprint(1)\n```');
    expect(html).toContain('<h1>Two sum</h1>');
    expect(html).toContain('<strong>two</strong>');
    expect(html).toContain('<code class="language-py">print(1)');
  });

  it('shows raw HTML as text, never as markup', () => {
    const html = markdownToHtml('<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> <b>bold</b>');
    expect(html).not.toMatch(/<script|<img|<b>/);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('keeps only safe links and drops images', () => {
    const html = markdownToHtml('[ok](https://example.com) [bad](javascript:alert(1)) [data](data:text/html,x) ![pixel](https://tracker.example/p.png)');
    expect(html).toContain('<a href="https://example.com" target="_blank" rel="noopener noreferrer">ok</a>');
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('data:text');
    expect(html).not.toContain('tracker.example');
    expect(html).toContain('bad');
    expect(html).toContain('pixel');
  });
});

describe('interview timer', () => {
  it('counts down on the server clock whatever the client clock says', () => {
    const skew = clockSkew(10_000, 4_000); // this client is 6 s behind
    const timer = { mode: 'countdown' as const, startedAtMs: 9_000, durationMs: 60_000 };
    expect(timerValue(timer, 4_000, skew)).toBe(59_000);
    expect(timerValue(timer, 200_000, skew)).toBe(0);
    expect(timerValue({ mode: 'elapsed', startedAtMs: 9_000 }, 5_000, skew)).toBe(2_000);
    expect(timerValue({ mode: 'elapsed', startedAtMs: 9_000 }, 99_999, skew, 12_000)).toBe(3_000);
  });

  it('formats clocks', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(245_000)).toBe('4:05');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });
});

describe('switches and forms', () => {
  const base: Interview = {
    title: 'T',
    prompt: 'P',
    promptHidden: false,
    language: 'python',
    locked: false,
    runDisabled: true,
    terminalDisabled: false,
    timer: null,
    endedAtMs: null,
    nowMs: 0,
  };

  it('holds candidates only, and an end holds everything', () => {
    expect(heldBy(base, 'candidate')).toEqual({ edit: false, run: true, terminal: false });
    expect(heldBy({ ...base, locked: true }, 'owner')).toEqual({ edit: false, run: false, terminal: false });
    expect(heldBy({ ...base, endedAtMs: 5 }, 'candidate')).toEqual({ edit: true, run: true, terminal: true });
    expect(heldBy(null, 'candidate')).toEqual({ edit: false, run: false, terminal: false });
  });

  it('turns the form into the API body', () => {
    expect(parseTags('Arrays, graphs  arrays')).toEqual(['arrays', 'graphs']);
    const input = toInput({
      title: 'Q',
      prompt: 'p',
      difficulty: 'easy',
      tags: 'a, b',
      guidance: 'g',
      starters: [
        { language: 'python', name: ' sol.py ', content: 'x' },
        { language: 'go', name: '', content: '' },
      ],
      scorecardTemplate: null,
      signature: { function: '', params: 'ignored' },
      tests: [{ name: '', stdin: '1 2', expected: '3', hidden: true, compare: 'lines' }],
    });
    expect(input.signature).toBeNull();
    expect(input.tests).toEqual([{ name: '', stdin: '1 2', expected: '3', hidden: true, compare: 'lines' }]);
    expect(input.languages).toEqual([
      { language: 'python', files: [{ name: 'sol.py', content: 'x' }] },
      { language: 'go', files: [] },
    ]);
    expect(input.tags).toEqual(['a', 'b']);
    expect(input.scorecardTemplate).toBeNull();
  });
});
