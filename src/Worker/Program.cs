using FeedbackHub.Worker;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

// The worker is a web host only to answer health probes; its work is MassTransit consumers and the outbox relay.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddFeedbackHubWorker();
var app = builder.Build();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
await app.RunAsync();
