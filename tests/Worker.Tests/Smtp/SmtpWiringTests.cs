using FeedbackHub.Tests;
using FeedbackHub.Worker.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>How the worker host wires the sender: the readiness check and the start-time refusal of the development switch.</summary>
public sealed class SmtpWiringTests
{
    [Fact]
    public async Task The_worker_refuses_to_start_with_the_untrusted_certificate_switch_outside_development()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            WorkerHost.StartAsync(TestServices.Postgres, "t" + Guid.NewGuid().ToString("N")[..10], new Dictionary<string, string?> { ["Smtp:AllowUntrustedCertificates"] = "true" }));
        Assert.Contains("Smtp:AllowUntrustedCertificates is a development-only switch and the environment is Testing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_has_an_smtp_check_that_reports_what_the_sender_found()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1",
        });
        builder.AddFeedbackHubWorker();
        using var host = builder.Build();

        Assert.IsType<MailKitEmailSender>(host.Services.GetRequiredService<IEmailSender>());
        var registration = Assert.Single(host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == "smtp");
        Assert.Contains("ready", registration.Tags);
        var checks = host.Services.GetRequiredService<HealthCheckService>();

        Assert.Equal(HealthStatus.Healthy, (await checks.CheckHealthAsync(r => r.Name == "smtp")).Status);
        host.Services.GetRequiredService<SmtpHealth>().ReportProblem("SMTP authentication failed at relay:587 (535 5.7.8): check Smtp:Username and Smtp:Password");
        var report = await checks.CheckHealthAsync(r => r.Name == "smtp");
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal("SMTP authentication failed at relay:587 (535 5.7.8): check Smtp:Username and Smtp:Password", report.Entries["smtp"].Description);
    }
}
