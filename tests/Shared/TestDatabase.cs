using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FeedbackHub.Tests;

/// <summary>
/// A fresh database with the real migrations, per test class: the migrations run once per test process
/// into a template database, and each class gets <c>CREATE DATABASE ... TEMPLATE</c> (milliseconds).
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    private static readonly SemaphoreSlim TemplateLock = new(1, 1);
    private static string? _templateName;

    public string Name { get; } = "fh_test_" + Guid.NewGuid().ToString("N")[..16];

    public string ConnectionString => With(TestServices.Postgres, Name, pooling: true);

    public async Task InitializeAsync()
    {
        var template = await EnsureTemplateAsync();
        await ExecuteAdminAsync($"CREATE DATABASE \"{Name}\" TEMPLATE \"{template}\"");
    }

    public async Task DisposeAsync()
    {
        // This database's pools only (the tests' and the hosts'), never ClearAllPools: that also empties the pools of
        // classes still running, and a class that has just ended every session of its database to test what its next
        // request does with the dead pooled connections then finds them gone (DatabaseOutageTests flaked that way).
        foreach (var connectionString in new[] { ConnectionString, PersistenceExtensions.Tuned(ConnectionString) })
        {
            await using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }

        await ExecuteAdminAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
    }

    /// <summary>
    /// Services for a test that builds worker parts itself: logging, this database as <c>ConnectionStrings:Postgres</c>,
    /// the DbContext registrations and the system tenant scope. The test adds what it exercises.
    /// </summary>
    public ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = ConnectionString }).Build());
        services.AddFeedbackHubDatabase();
        services.AddSingleton<ITenantScope, SystemTenantScope>();
        return services;
    }

    /// <summary>A DbContext that sees all tenants, for arranging and asserting.</summary>
    public FeedbackHubDbContext CreateDbContext()
    {
        var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
        PersistenceExtensions.Configure(options, ConnectionString);
        return FeedbackHubDbContext.Create(options.Options, new SystemTenantScope());
    }

    /// <summary>Runs SQL as the superuser on this database (e.g. to tamper with rows as an attacker would).</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    /// <summary>Ends every session on this database, as a server restart does to its clients: their pooled connections are dead.</summary>
    /// <remarks>Waits (up to 5 s each) until the sessions are gone, so the clients' next use of them fails every time.</remarks>
    public Task EndSessionsAsync() =>
        ExecuteAdminAsync($"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{Name}' AND pid <> pg_backend_pid()");

    /// <summary>
    /// This database goes away for its clients as in a restart or failover (every session ended, new connections refused)
    /// without touching the server other test classes share; <see cref="ReopenAsync"/> brings it back.
    /// </summary>
    public async Task CloseAsync()
    {
        await ExecuteAdminAsync($"ALTER DATABASE \"{Name}\" ALLOW_CONNECTIONS false");
        // A session that was starting while the ALTER ran may show up only after the first sweep (a busy client opens
        // connections all the time), so sweep until none is left: a closed database has no session at all.
        await using var connection = new NpgsqlConnection(With(TestServices.Postgres, "postgres", pooling: false));
        await connection.OpenAsync();
        await using var sweep = new NpgsqlCommand(
            $"SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = '{Name}' AND pid <> pg_backend_pid()", connection);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((long)(await sweep.ExecuteScalarAsync())! > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Sessions of {Name} were still starting 10 s after it was closed.");
            await Task.Delay(20);
        }
    }

    public Task ReopenAsync() => ExecuteAdminAsync($"ALTER DATABASE \"{Name}\" ALLOW_CONNECTIONS true");

    /// <summary>Sessions open on this database now (pooled idle ones included), counted from a connection of its own.</summary>
    public async Task<long> SessionCountAsync()
    {
        await using var connection = new NpgsqlConnection(With(TestServices.Postgres, "postgres", pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_stat_activity WHERE datname = '{Name}'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Every row of every table as text (pg_dump --data-only): what an attacker with a backup sees.</summary>
    public async Task<string> DumpAsync()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        var psi = new System.Diagnostics.ProcessStartInfo("pg_dump", ["--data-only", "-h", b.Host!, "-p", b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", b.Username!, Name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (b.Password is { Length: > 0 } password)
            psi.Environment["PGPASSWORD"] = password; // the container's superuser has one; the local server trusts loopback
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException("pg_dump failed: " + await process.StandardError.ReadToEndAsync());
        return output;
    }

    private static async Task<string> EnsureTemplateAsync()
    {
        await TemplateLock.WaitAsync();
        try
        {
            if (_templateName is not null)
                return _templateName;
            var name = $"fh_template_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..8]}";
            await ExecuteAdminAsync($"CREATE DATABASE \"{name}\"");
            var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
            PersistenceExtensions.Configure(options, With(TestServices.Postgres, name, pooling: false));
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
                await db.Database.MigrateAsync();
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    ExecuteAdminAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").GetAwaiter().GetResult();
                }
                catch (NpgsqlException)
                {
                    // Best effort: the test cluster is thrown away anyway.
                }
            };
            return _templateName = name;
        }
        finally
        {
            TemplateLock.Release();
        }
    }

    private static async Task ExecuteAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(With(TestServices.Postgres, "postgres", pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string With(string connectionString, string database, bool pooling) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = pooling, MaxPoolSize = 20 }.ConnectionString;
}
