using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Tests.Persistence;

public sealed class MigrationTests
{
    [Fact]
    public void The_migrations_describe_the_current_model()
    {
        var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
        PersistenceExtensions.Configure(options, "Host=127.0.0.1;Database=never-connected"); // the check needs no connection
        using var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope());

        Assert.False(db.Database.HasPendingModelChanges(), "The model has changes no migration describes: add one (see README, Migrations).");
    }
}
