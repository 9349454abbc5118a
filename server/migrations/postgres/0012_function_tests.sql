-- Function-signature test cases: the same columns as SQLite migration 0019 (`migrations/sqlite/`).

-- Function-signature test cases (issue 13 §7, the harnesses): a question may declare the function
-- its candidates write; a `function` case calls it with a JSON array of arguments and compares
-- what it returns with a JSON value (`interviews::test_cases::harness`).

-- `{"function": name, "params": [names]}`; NULL: the question has no signature.
ALTER TABLE questions ADD COLUMN signature TEXT;

-- A `function` case keeps `stdin` empty, its arguments in `args` (a JSON array) and the expected
-- JSON value in `expected`; `function_name` is the function it calls, so the interview's copy
-- runs without its question.
ALTER TABLE question_tests ADD COLUMN kind TEXT NOT NULL DEFAULT 'stdin' CHECK (kind IN ('stdin', 'function'));
ALTER TABLE question_tests ADD COLUMN function_name TEXT;
ALTER TABLE question_tests ADD COLUMN args TEXT;
ALTER TABLE interview_tests ADD COLUMN kind TEXT NOT NULL DEFAULT 'stdin' CHECK (kind IN ('stdin', 'function'));
ALTER TABLE interview_tests ADD COLUMN function_name TEXT;
ALTER TABLE interview_tests ADD COLUMN args TEXT;

-- What a graded function case returned (canonical JSON) or the error it raised.
ALTER TABLE takehome_results ADD COLUMN returned TEXT;
ALTER TABLE takehome_results ADD COLUMN error TEXT;
