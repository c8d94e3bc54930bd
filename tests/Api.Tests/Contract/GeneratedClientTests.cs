using System.Diagnostics;
using FeedbackHub.Api.Tests.Templates;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using Xunit.Abstractions;

namespace FeedbackHub.Api.Tests.Contract;

/// <summary>
/// The OpenAPI document as a contract: tests/Contract/run.sh generates clients from the served document with Kiota (C#),
/// NSwag (C#, System.Text.Json) and openapi-typescript, compiles each strictly and runs the smoke flow with the Kiota
/// client and openapi-fetch against this real server. Needs the .NET SDK, node and npm, and NuGet and npm (first run only).
/// </summary>
public sealed class GeneratedClientTests : IClassFixture<ApiFactory>
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);
    private readonly ApiFactory _api;
    private readonly ITestOutputHelper _output;

    public GeneratedClientTests(ApiFactory api, ITestOutputHelper output)
    {
        api.UseRealServer();
        _api = api;
        _output = output;
    }

    [Fact]
    public async Task Clients_generated_by_Kiota_NSwag_and_openapi_typescript_compile_and_complete_the_smoke_flow()
    {
        _api.StartServer();
        var tenant = await _api.CreateTenantAsync(settings: TenantSettings.Default with { AllowPrivateWebhookTargets = true });
        var key = await tenant.KeyAsync(Roles.Admin, Roles.Integration, Roles.Recruiter);
        var templateId = await TemplateLifecycleTests.PublishedTemplateAsync(tenant);
        var baseUrl = _api.ClientWithKey(null).BaseAddress!.ToString().TrimEnd('/');

        var script = Path.Combine(RepositoryRoot(), "tests", "Contract", "run.sh");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["FH_BASE_URL"] = baseUrl, ["FH_KEY"] = key, ["FH_TEMPLATE_ID"] = templateId.ToString() },
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        var log = await output + await errors;
        _output.WriteLine(log);
        Assert.True(process.HasExited && process.ExitCode == 0, $"tests/Contract/run.sh failed:\n{log}");
        Assert.Contains("kiota smoke flow: passed", log, StringComparison.Ordinal);
        Assert.Contains("typescript smoke flow: passed", log, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FeedbackHub.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("FeedbackHub.sln not found above " + AppContext.BaseDirectory);
    }
}
