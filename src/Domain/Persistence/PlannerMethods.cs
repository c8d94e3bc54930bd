using System.Runtime.CompilerServices;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// One statement run with some of PostgreSQL's planner methods turned off for that statement only: <c>SET LOCAL
/// enable_&lt;method&gt; = off</c> before it and <c>SET LOCAL enable_&lt;method&gt; TO DEFAULT</c> after it, sent as one command
/// (one round trip; the statement's result set is the command's first); or, for a batch in PostgreSQL's implicit
/// transaction, off until that transaction ends (<see cref="OffForTransaction"/>).
/// </summary>
/// <remarks>
/// Used where a queue-shaped table's statistics mislead the planner into a plan that grows with the table or the backlog:
/// statistics taken while a queue was idle see nothing in flight, and the planner costs a random read at four sequential
/// ones, so it prefers reading a whole table to looking up the rows a batch needs by their keys. Each caller names the
/// method and the measurement that made it necessary. Both settings end with the transaction, so nothing is left on a
/// pooled connection; run the command in an explicit transaction: outside one, PostgreSQL logs a warning for each
/// <c>SET LOCAL</c> and documents it as having no effect.
/// </remarks>
public static class PlannerMethods
{
    /// <summary>Reading a whole table (<c>enable_seqscan</c>).</summary>
    public const string SeqScan = "seqscan";

    /// <summary>Collecting every matching index entry before reading any row (<c>enable_bitmapscan</c>).</summary>
    public const string BitmapScan = "bitmapscan";

    /// <summary>Joining by hashing one side (<c>enable_hashjoin</c>).</summary>
    public const string HashJoin = "hashjoin";

    /// <summary>Joining two sorted inputs (<c>enable_mergejoin</c>).</summary>
    public const string MergeJoin = "mergejoin";

    /// <summary>Joining by looping over one side and looking up the other (<c>enable_nestloop</c>).</summary>
    public const string NestLoop = "nestloop";

    private static readonly HashSet<string> Known = [SeqScan, BitmapScan, HashJoin, MergeJoin, NestLoop];

    /// <summary>
    /// The statement <paramref name="sql"/> (one statement, no trailing semicolon; its parameters, if any, bound by the
    /// caller) with <paramref name="methods"/> off for it.
    /// </summary>
    public static string WithoutRaw(string sql, params string[] methods)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        var (before, after) = Settings(methods);
        return $"{before}{sql};\n{after}";
    }

    /// <summary>
    /// As <see cref="WithoutRaw"/>, for an interpolated statement whose values EF Core sends as parameters
    /// (<c>ExecuteSqlAsync</c>, <c>SqlQuery</c>). A separate name, as EF Core's <c>ExecuteSql</c> and <c>ExecuteSqlRaw</c>:
    /// with one name for both, C# would bind an interpolated string to the <c>string</c> overload and inline its values.
    /// </summary>
    public static FormattableString Without(FormattableString sql, params string[] methods)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var (before, after) = Settings(methods);
        return FormattableStringFactory.Create($"{before}{sql.Format};\n{after}", sql.GetArguments());
    }

    /// <summary>
    /// A statement that turns <paramref name="methods"/> off until the end of the current transaction
    /// (<c>set_config(..., true)</c>): for a batch of statements in PostgreSQL's implicit transaction, where <c>SET LOCAL</c>
    /// would need an explicit one (and its commit, a round trip more). Add it to the batch before the statements it is for.
    /// </summary>
    public static string OffForTransaction(params string[] methods)
    {
        Validate(methods);
        return "SELECT " + string.Join(", ", methods.Select(m => $"set_config('enable_{m}', 'off', true)"));
    }

    private static (string Before, string After) Settings(string[] methods)
    {
        Validate(methods);
        var before = string.Concat(methods.Select(m => $"SET LOCAL enable_{m} = off;\n"));
        var after = string.Join(";\n", methods.Select(m => $"SET LOCAL enable_{m} TO DEFAULT"));
        return (before, after);
    }

    private static void Validate(string[] methods)
    {
        if (methods.Length == 0 || methods.Distinct().Count() != methods.Length || methods.Any(m => !Known.Contains(m)))
            throw new ArgumentException($"Name one or more distinct planner methods of {nameof(PlannerMethods)}.", nameof(methods));
    }
}
