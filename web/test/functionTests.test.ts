import { describe, expect, it } from 'vitest';
import type { Language } from '../src/api';
import { caseProblem, fromSignature, harnessLanguages, toSignature, withKind, withoutHarness } from '../src/features/interview/functionTests';
import type { TestCase } from '../src/features/interview/interviewApi';
import { toInput } from '../src/features/interview/QuestionBank';

const signature = { function: 'twoSum', params: ['nums', 'target'] };
const call = (args: string, expected: string): TestCase => ({ name: '', kind: 'function', stdin: '', args, expected, hidden: false, compare: 'trimmed' });

describe('function signature in the question form', () => {
  it('is read from the parameters as typed and round-trips', () => {
    expect(toSignature({ function: ' twoSum ', params: ' nums,target , ,' })).toEqual(signature);
    expect(toSignature({ function: '  ', params: 'a' })).toBeNull();
    expect(toSignature(fromSignature(signature))).toEqual(signature);
    expect(fromSignature(null)).toEqual({ function: '', params: '' });
  });

  it('goes to the API with the function cases as typed', () => {
    const input = toInput({
      title: 'Two sum',
      prompt: '',
      difficulty: 'easy',
      tags: '',
      guidance: '',
      starters: [{ language: 'python', name: '', content: '' }],
      scorecardTemplate: null,
      signature: { function: 'twoSum', params: 'nums, target' },
      tests: [call('[[2, 7], 9]', '[0, 1]')],
    });
    expect(input.signature).toEqual(signature);
    expect(input.tests[0]).toMatchObject({ kind: 'function', args: '[[2, 7], 9]', expected: '[0, 1]' });
    // No file name: the server writes the starter from the signature.
    expect(input.languages).toEqual([{ language: 'python', files: [] }]);
  });
});

describe('languages with a harness', () => {
  const table: Language[] = [
    { id: 'python', name: 'Python 3', functionTests: true },
    { id: 'javascript', name: 'JavaScript', functionTests: true },
    { id: 'go', name: 'Go', functionTests: false },
    { id: 'ruby', name: 'Ruby' },
  ];

  it('are the ones the server says run function cases', () => {
    expect(harnessLanguages(table).map((l) => l.id)).toEqual(['python', 'javascript']);
    expect(withoutHarness(['python', 'go', 'ruby', 'unknown'], table)).toEqual(['go', 'ruby', 'unknown']);
    expect(withoutHarness(['javascript'], table)).toEqual([]);
  });
});

describe('function case checks', () => {
  it('say what the server would refuse, naming the field', () => {
    expect(caseProblem(call('[[2, 7], 9]', '[0, 1]'), signature)).toBeNull();
    expect(caseProblem(call('[[2, 7], 9]', '[0, 1]'), null)).toBe('declare the function signature first');
    expect(caseProblem(call('[[2, 7], 9', '[0, 1]'), signature)).toBe('args is not valid JSON');
    expect(caseProblem(call('{"nums": []}', '[0, 1]'), signature)).toBe('args is a JSON array with one value per parameter');
    expect(caseProblem(call('[[2, 7]]', '[0, 1]'), signature)).toBe('args holds 1 values; twoSum(nums, target) takes 2');
    expect(caseProblem(call('[[2, 7], 9]', 'zero'), signature)).toBe('expected is not valid JSON');
    expect(caseProblem({ name: '', stdin: 'x', expected: 'not json', hidden: false, compare: 'exact' }, null)).toBeNull();
  });

  it('switching a case between kinds keeps its name and visibility and clears its input', () => {
    const stdin: TestCase = { name: 'n', kind: 'stdin', stdin: '1 2', expected: '3', hidden: true, compare: 'lines' };
    const fn = withKind(stdin, 'function');
    expect(fn).toMatchObject({ name: 'n', kind: 'function', stdin: '', args: '[]', expected: '', hidden: true });
    const back = withKind(fn, 'stdin');
    expect(back).toEqual({ name: 'n', kind: 'stdin', stdin: '', expected: '', hidden: true, compare: 'lines' });
    expect('args' in back).toBe(false);
  });
});
