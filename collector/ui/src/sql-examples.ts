/** The SQL page's examples (collector/src/sql/read-only-sql.test.ts runs each through the SQL endpoint's checks). */
export const SQL_EXAMPLES: { title: string; sql: string }[] = [
  {
    title: "Assessments over time",
    sql: `SELECT toStartOfDay(CreatedAt) AS day,
  count() AS assessments,
  countIf(SourceType = 'LLM_JUDGE') AS judge,
  countIf(SourceType = 'HUMAN') AS human
FROM gavel_assessments FINAL
WHERE NOT Deleted
GROUP BY day
ORDER BY day`,
  },
  {
    title: "Judge–human agreement per day",
    sql: `WITH a AS (SELECT * FROM gavel_assessments FINAL WHERE NOT Deleted AND Kind = 'feedback'),
  j AS (SELECT TraceId, Name, argMax(Value, CreatedAt) AS judge, max(CreatedAt) AS at
        FROM a WHERE SourceType = 'LLM_JUDGE' GROUP BY TraceId, Name),
  h AS (SELECT TraceId, Name, argMax(Value, CreatedAt) AS human
        FROM a WHERE SourceType = 'HUMAN' AND Valid GROUP BY TraceId, Name)
SELECT toDate(j.at) AS day, j.Name AS judge_name,
  round(avg(lower(j.judge) = lower(h.human)), 3) AS agreement,
  count() AS pairs
FROM j INNER JOIN h ON j.TraceId = h.TraceId AND j.Name = h.Name
GROUP BY day, judge_name
ORDER BY day, judge_name`,
  },
  {
    title: "Slowest traces",
    sql: `SELECT Name, round(Duration / 1e6, 1) AS duration_ms, StatusCode, TraceId, Timestamp
FROM gavel_traces
WHERE NOT IsJudge
ORDER BY Duration DESC
LIMIT 20`,
  },
  {
    title: "Traces per experiment",
    sql: `SELECT e.Name AS experiment, count() AS traces
FROM gavel_traces AS t
LEFT JOIN (SELECT ExperimentId, argMax(Name, Version) AS Name FROM gavel_experiments GROUP BY ExperimentId) AS e
  ON e.ExperimentId = t.ExperimentId
GROUP BY experiment
ORDER BY traces DESC`,
  },
];
