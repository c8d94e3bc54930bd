using FeedbackHub.Tests;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Persistence;

/// <summary>
/// The test databases stay out of each other's way: a class that ends while another runs leaves the other's pooled
/// connections alone (tests such as <c>DatabaseOutageTests</c> rely on what their own pool holds).
/// </summary>
public sealed class TestDatabaseIsolationTests
{
    [Fact]
    public async Task Disposing_one_test_database_leaves_the_pooled_connections_of_another_in_their_pool()
    {
        var kept = new TestDatabase();
        await kept.InitializeAsync();
        try
        {
            await using (var connection = new NpgsqlConnection(kept.ConnectionString))
                await connection.OpenAsync(); // back in the pool, idle, once disposed

            var ended = new TestDatabase();
            await ended.InitializeAsync();
            await ended.DisposeAsync();

            Assert.True(await kept.SessionCountAsync() >= 1, "the kept database's pooled connection was closed when another test database was disposed");
        }
        finally
        {
            await kept.DisposeAsync();
        }
    }
}
