using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Tests;

/// <summary>
/// Tests that assert on exported metrics run alone in their test process. Every host in a test process creates its
/// FeedbackHub, ASP.NET Core and Npgsql meters under the same names, and the OpenTelemetry SDK (1.x) folds instruments
/// of the same name into one metric stream; when another test's host is disposed and its meters with it, the SDK ends
/// that shared stream, and the host under test exports nothing more for those instruments
/// (open-telemetry/opentelemetry-dotnet#6412). A fresh-clone run failed this way once. A deployed process runs one host,
/// so only tests meet it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OtlpExportAlone
{
    public const string Name = "OTLP export, alone in the process";
}

/// <summary>An OTLP/HTTP receiver: answers 200 to every POST and keeps the path and body (protobuf, read as Latin-1 text).</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private WebApplication? _app;

    public ConcurrentQueue<(string Path, string Body)> Bodies { get; } = new();

    public string Endpoint { get; private set; } = "";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            Bodies.Enqueue((context.Request.Path.Value ?? "", Encoding.Latin1.GetString(buffer.ToArray())));
            context.Response.ContentType = "application/x-protobuf";
            return Results.Ok();
        });
        await _app.StartAsync();
        Endpoint = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    public async Task<string> WaitForAsync(string path, Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (Bodies.FirstOrDefault(b => b.Path == path && match(b.Body)) is { Body: not null } found)
                return found.Body;
            await Task.Delay(100);
        }

        throw new TimeoutException($"No matching POST {path} within 20 s; received: {string.Join(", ", Bodies.Select(b => $"{b.Path} ({b.Body.Length} bytes)"))}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}
