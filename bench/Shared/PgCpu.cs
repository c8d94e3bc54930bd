using System.Globalization;
using Npgsql;

namespace FeedbackHub.Bench;

/// <summary>The CPU time of PostgreSQL's sessions on one database (compiled into each bench program that reports it).</summary>
internal static class PgCpu
{
    /// <summary>
    /// User and system time used so far by the sessions connected to the database of <paramref name="connectionString"/>
    /// (Linux <c>/proc</c>, PostgreSQL on this machine): two readings around a batch give what its sessions cost. A session
    /// that ends in between is missed, so the processes under test keep theirs open (pooled).
    /// </summary>
    public static async Task<TimeSpan> SessionsAsync(string connectionString)
    {
        var total = TimeSpan.Zero;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            try
            {
                // Fields 14 and 15 (after the parenthesised name): user and system time in clock ticks (100 a second on Linux).
                var stat = await File.ReadAllTextAsync($"/proc/{reader.GetInt32(0)}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += TimeSpan.FromMilliseconds(10 * (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)));
            }
            catch (IOException)
            {
                // The session ended meanwhile.
            }
        }

        return total;
    }
}
