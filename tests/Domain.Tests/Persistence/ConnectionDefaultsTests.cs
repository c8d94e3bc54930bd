using System.Text.RegularExpressions;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Tests.Language;
using Npgsql;

namespace FeedbackHub.Domain.Tests.Persistence;

public sealed class ConnectionDefaultsTests
{
    // Session advisory locks, SET of a setting for the session (UPDATE's "SET column =" is not one: a setting is named,
    // or dotted), set_config for the session (its third argument false; true is for the transaction, as SET LOCAL),
    // temporary tables, named prepared statements, LISTEN.
    private static readonly Regex SessionState = new(
        @"pg_(try_)?advisory_lock(_shared)?\s*\(|\bset_config\s*\([^)]*,\s*false\s*\)|\bSET\s+(SESSION|ROLE|search_path|statement_timeout|lock_timeout|idle_in_transaction_session_timeout|time\s*zone|application_name|work_mem|[a-z_]+\.[a-z_]+\s*(=|TO\b))|\bSET\s+enable_[a-z]+\s*(=|TO\b)|(?-i:\bRESET\s+(ALL\b|[a-z_]+\s*(;|""|$)))|\bCREATE\s+TEMP(ORARY)?\b|\bPREPARE\s+[a-z_]+\s+AS\b|\bLISTEN\s",
        RegexOptions.IgnoreCase);

    [Fact]
    public void Prepared_statements_and_no_reset_are_added_when_the_operator_did_not_choose()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PersistenceExtensions.Tuned("Host=db;Database=feedbackhub;Username=app"));

        Assert.Equal(64, tuned.MaxAutoPrepare);
        Assert.True(tuned.NoResetOnClose);
        Assert.Equal("db", tuned.Host);
        Assert.Equal("feedbackhub", tuned.Database);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;MaxAutoPrepare=0;NoResetOnClose=false")]
    [InlineData("Host=db;max auto prepare=0;no reset on close=false")]
    public void The_operators_own_choice_wins(string connectionString)
    {
        var tuned = new NpgsqlConnectionStringBuilder(PersistenceExtensions.Tuned(connectionString));

        Assert.Equal(0, tuned.MaxAutoPrepare);
        Assert.False(tuned.NoResetOnClose);
    }

    /// <summary>
    /// Pooled connections are handed out again without <c>DISCARD ALL</c> (<see cref="PersistenceExtensions.Tuned"/>), so
    /// no code may leave session state on one: session advisory locks, <c>SET</c> outside a transaction, temporary tables,
    /// prepared statements by name, <c>LISTEN</c> except on the API key listener's own unpooled connection.
    /// </summary>
    [Fact]
    public void No_source_file_leaves_session_state_on_a_pooled_connection()
    {
        var src = Path.Combine(DecisionPolicyTests.RepositoryRoot(), "src");
        var offenders = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(src, f), Line: i + 1, Text: line)))
            .Where(l => SessionState.IsMatch(l.Text) && !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        // The one allowed: the loop every notification listener runs (the caches' and the worker's wake-ups), on a connection of its own with Pooling=false.
        string[] listeners = ["Domain/Persistence/NotificationListening.cs"];
        Assert.Equal(listeners, offenders.Select(o => o[..o.IndexOf(':')]).Distinct());
        Assert.All(offenders, o => Assert.Contains("LISTEN", o, StringComparison.Ordinal));
        Assert.All(listeners, f => Assert.Contains("Pooling = false", File.ReadAllText(Path.Combine(src, f)), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SELECT pg_advisory_lock(1)", true)]
    [InlineData("SELECT pg_try_advisory_lock(1)", true)]
    [InlineData("SET search_path = x", true)]
    [InlineData("SET SESSION AUTHORIZATION bob", true)]
    [InlineData("CREATE TEMP TABLE t (x int)", true)]
    [InlineData("LISTEN api_key_changed", true)]
    [InlineData("SELECT pg_advisory_xact_lock(1)", false)]
    [InlineData("SET TRANSACTION READ ONLY", false)]
    [InlineData("SET LOCAL lock_timeout = '1s'", false)]
    [InlineData("SET enable_bitmapscan = off", true)]
    [InlineData("RESET enable_bitmapscan", true)]
    [InlineData("SET LOCAL enable_bitmapscan = off; SELECT 1; SET LOCAL enable_bitmapscan TO DEFAULT", false)]
    [InlineData("SET app.tenant = 'x'", true)]
    [InlineData("SELECT set_config('app.tenant', 'x', false)", true)]
    [InlineData("SELECT set_config('enable_nestloop', 'off', true)", false)]
    [InlineData("UPDATE feedback SET answers = @p", false)]
    [InlineData("   SET status = 'sent', attempts = attempts + 1", false)]
    public void The_scan_recognises_session_state(string sql, bool recognised)
    {
        Assert.Equal(recognised, SessionState.IsMatch(sql));
    }

    [Fact]
    public void Planner_settings_last_only_for_their_transaction()
    {
        var sql = PlannerMethods.WithoutRaw("SELECT 1", PlannerMethods.SeqScan, PlannerMethods.BitmapScan, PlannerMethods.HashJoin, PlannerMethods.MergeJoin);

        Assert.DoesNotMatch(SessionState, sql);
        Assert.Equal(8, sql.Split("SET LOCAL enable_").Length - 1);
        Assert.DoesNotMatch(SessionState, PlannerMethods.OffForTransaction(PlannerMethods.NestLoop, PlannerMethods.HashJoin));
    }
}
