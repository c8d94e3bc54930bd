using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace FeedbackHub.Domain.Persistence;

/// <summary>Used only by <c>dotnet ef</c> (see README, "Migrations"); needs no running database.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<FeedbackHubDbContext>
{
    public FeedbackHubDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
        PersistenceExtensions.Configure(options, "Host=127.0.0.1;Database=feedbackhub_design;Username=postgres");
        return FeedbackHubDbContext.Create(options.Options, new SystemTenantScope());
    }
}
