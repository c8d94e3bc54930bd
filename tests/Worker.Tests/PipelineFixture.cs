using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests;

/// <summary>The API and the worker on one per-class database and a per-class broker prefix.</summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, Prefix, Delivery.DeliveryFixture.WorkerSettings(6));
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}
