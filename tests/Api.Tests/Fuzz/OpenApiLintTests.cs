using System.Diagnostics;
using FeedbackHub.Tests;
using Xunit.Abstractions;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>
/// The served document passes Redocly's built-in "recommended" ruleset with no errors (warnings are printed, not
/// failed). No redocly.yaml: every rule of the set applies to this API. Needs npx (node 20 is on the CI image).
/// </summary>
public sealed class OpenApiLintTests(ApiFactory api, ITestOutputHelper output) : IClassFixture<ApiFactory>
{
    // Pinned: the version the npm registry serves here (1.34.21 does not install; 2.77.0 and 1.34.20 do).
    private const string Redocly = "@redocly/cli@2.77.0";

    [Fact]
    public async Task Served_document_passes_redocly_lint()
    {
        var npx = FindOnPath("npx");
        if (npx is null)
        {
            // xunit 2.9.3 has no dynamic skip: say why and pass.
            output.WriteLine("SKIPPED: npx is not on PATH, so the Redocly lint did not run (install node 20 and npm).");
            return;
        }

        var folder = Directory.CreateTempSubdirectory("fh-redocly-");
        try
        {
            var document = Path.Combine(folder.FullName, "openapi.json");
            await File.WriteAllTextAsync(document, await api.CreateClient().GetStringAsync("/openapi/v1.json"));
            var psi = new ProcessStartInfo(npx, ["--yes", Redocly, "lint", document, "--format=stylish"])
            {
                WorkingDirectory = folder.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true", ["NO_UPDATE_NOTIFIER"] = "1" },
            };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            var text = (await stdout + await stderr).Replace(folder.FullName + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
            output.WriteLine(text);
            Assert.True(process.ExitCode == 0, $"redocly lint exited with {process.ExitCode}:{Environment.NewLine}{text}");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
