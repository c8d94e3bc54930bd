using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace FeedbackHub.Worker;

internal static class Program
{
    /// <summary>
    /// The worker is a web host only to answer health probes (/health/live, /health/ready);
    /// its work is the MassTransit consumers and the outbox relay.
    /// </summary>
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddFeedbackHubWorker();
        var app = builder.Build();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        await app.RunAsync();
    }
}
