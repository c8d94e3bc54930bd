using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace FeedbackHub.Tests;

/// <summary>
/// The plans PostgreSQL chose for the statements of a piece of product code: <c>auto_explain</c> (loaded into the
/// session; the tests connect as a superuser) sends each statement's plan, with actual row counts, to the client as a
/// notice. The settings are reset afterwards, so nothing is left on the pooled connection.
/// </summary>
public static class PlanCapture
{
    /// <summary>
    /// Runs <paramref name="act"/> on <paramref name="db"/>'s connection and returns the plans of its statements (and fails
    /// on any warning); with <paramref name="nested"/>, also those of the statements they ran (triggers' queries, such as a
    /// foreign key's check).
    /// </summary>
    public static async Task<(List<string> Plans, T Result)> RunAsync<T>(FeedbackHubDbContext db, Func<Task<T>> act, bool nested = false)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(act);
        await db.Database.OpenConnectionAsync();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var notices = new List<PostgresNotice>();
        NoticeEventHandler collect = (_, e) => notices.Add(e.Notice);
        connection.Notice += collect;
        await using (var explain = new NpgsqlCommand(
            $"LOAD 'auto_explain'; SET auto_explain.log_level = notice; SET auto_explain.log_analyze = on; SET auto_explain.log_nested_statements = {(nested ? "on" : "off")}; SET auto_explain.log_min_duration = 0", connection))
            await explain.ExecuteNonQueryAsync();
        try
        {
            var result = await act();
            Assert.DoesNotContain(notices, n => n.Severity == "WARNING");
            return (notices.Select(n => n.MessageText).ToList(), result);
        }
        finally
        {
            connection.Notice -= collect;
            await using var reset = new NpgsqlCommand("RESET auto_explain.log_min_duration; RESET auto_explain.log_nested_statements; RESET auto_explain.log_analyze; RESET auto_explain.log_level", connection);
            await reset.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// The value of the setting <paramref name="name"/> on <paramref name="db"/>'s connection now (<c>SHOW</c>): after a
    /// statement with planner settings of its transaction, the default again, so nothing is left on the pooled connection.
    /// </summary>
    public static async Task<string?> SettingAsync(FeedbackHubDbContext db, string name)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var show = new NpgsqlCommand($"SHOW {name}", (NpgsqlConnection)db.Database.GetDbConnection());
        return (string?)await show.ExecuteScalarAsync();
    }
}
