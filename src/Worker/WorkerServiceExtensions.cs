using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Channels;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Outbox;
using FeedbackHub.Worker.Auditing;
using FeedbackHub.Worker.Retention;
using FeedbackHub.Worker.Smtp;
using FeedbackHub.Worker.Telemetry;
using FeedbackHub.Worker.Webhooks;
using MassTransit;
using MassTransit.Monitoring;
using MassTransit.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker;

public static class WorkerServiceExtensions
{
    /// <summary>
    /// Everything the worker runs: database, MassTransit over RabbitMQ, the outbox relay, the outbound core with its
    /// channels (feedback emails, invitations, test emails, webhooks), recovery, retention.
    /// </summary>
    public static IHostApplicationBuilder AddFeedbackHubWorker(this IHostApplicationBuilder builder)
    {
        builder.Configuration.AddKeyPerFile(SecretFiles.Directory(builder.Configuration), optional: true);
        var configuration = builder.Configuration;
        var services = builder.Services;
        var rabbit = new Uri(configuration.GetConnectionString("RabbitMq")
            ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is not configured."));

        builder.AddFeedbackHubTelemetry("feedbackhub-worker",
            tracing => tracing.AddSource(DiagnosticHeaders.DefaultListenerName).AddHttpClientInstrumentation(),
            metrics => metrics.AddMeter(InstrumentationOptions.MeterName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());
        services.AddFeedbackHubDatabase();
        services.AddSingleton<ITenantScope, SystemTenantScope>();
        services.AddFeedbackHubPeople(); // issues the links in invitation and password-reset emails
        services.AddSingleton<PublishedTemplateContent>(); // feedback emails read their template version once per process
        services.AddOptions<SmtpOptions>().Bind(configuration.GetSection("Smtp")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SmtpOptions>, SmtpOptionsValidator>();
        services.Configure<OutboxOptions>(configuration.GetSection("Outbox"));
        services.Configure<WorkerEmailOptions>(configuration.GetSection("Email"));
        services.Configure<InvitationOptions>(configuration.GetSection("FeedbackHub"));
        services.AddSingleton<SmtpHealth>();
        services.AddSingleton<IEmailSender, MailKitEmailSender>();
        services.AddHostedService<SmtpStartupLog>();
        services.AddHealthChecks().Add(new HealthCheckRegistration("smtp", sp => sp.GetRequiredService<SmtpHealth>(), failureStatus: null, tags: ["ready"]));
        // Every email goes through IEmailSender; DKIM keys come from IDkimKeyProvider: each tenant's own key.
        services.AddTenantDkimKeys();
        services.Configure<DeliveryOptions>(configuration.GetSection("Delivery"));
        services.AddScoped<OutboundProcessor>();
        services.AddWebhookSecrets();
        services.AddHostedService<WebhookSecretCheck>(); // first: fails the start when Webhooks:SecretKey is missing or wrong
        services.Configure<WebhookOptions>(configuration.GetSection("Webhooks"));
        services.AddSingleton<WebhookSender>();
        // Outcomes raise webhook events; the tenant's subscriptions come from this cache while its listener is connected.
        // Off (every outcome reads them) with Webhooks:CacheSubscriptions=false, e.g. behind PgBouncer in transaction mode,
        // which does not deliver notifications.
        if (configuration.GetValue("Webhooks:CacheSubscriptions", true))
        {
            services.AddSingleton<WebhookSubscriptionCache>();
            services.AddHostedService<WebhookSubscriptionListener>();
        }
        services.Configure<RetentionOptions>(configuration.GetSection("Retention"));

        // Registered before MassTransit, so it starts before and stops after the bus: every attempt a consumer holds is
        // renewed until the consumers have stopped.
        services.AddSingleton<SendingLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<SendingLeases>());

        // Entity names can carry a prefix, so several environments (or test classes) can share one broker.
        var prefix = configuration["RabbitMq:Prefix"];
        var quorum = configuration.GetValue("RabbitMq:QuorumQueues", false);
        services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        services.AddMassTransit(x =>
        {
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(prefix, false));
            // Email channels: sent in batches by the EmailDispatcher; each message (one queue per channel) only wakes it.
            // Adding an email channel is a channel class and a line here.
            x.AddOutboundChannel<FeedbackEmailChannel, DeliverFeedback>(services);
            x.AddOutboundChannel<InvitationChannel, SendInvitation>(services);
            x.AddOutboundChannel<TestEmailChannel, SendTestEmail>(services);
            x.AddOutboundChannel<PersonEmailChannel, SendPersonEmail>(services);
            // Webhooks are sent in batches by the WebhookDispatcher; their channel serves recovery, their message only wakes the dispatcher.
            services.AddScoped<WebhookChannel>();
            services.AddScoped<IOutboundChannel<DeliverWebhook>>(sp => sp.GetRequiredService<WebhookChannel>());
            services.AddScoped<IOutboundChannel>(sp => sp.GetRequiredService<WebhookChannel>());
            x.AddConsumer<DeliverWebhookConsumer>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit, h => h.ConnectionName($"feedbackhub-worker-{Environment.MachineName}"));
                if (!string.IsNullOrEmpty(prefix))
                    cfg.MessageTopology.SetEntityNameFormatter(new PrefixEntityNameFormatter(cfg.MessageTopology.EntityNameFormatter, prefix + "."));
                cfg.PrefetchCount = configuration.GetValue("RabbitMq:PrefetchCount", 32);
                if (quorum)
                    cfg.SetQuorumQueue();
                cfg.ConfigureEndpoints(context);
            });
        });

        // Registered after MassTransit, so they start once the bus is up (WaitUntilStarted) and its queues and
        // bindings exist: a message published before its consumer's queue is bound would be dropped.
        services.AddHostedService<OutboxRelay>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<EmailDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<EmailDispatcher>());
        // Items created due at once wake the dispatchers by notification (ADR 0015); off where notifications cannot arrive.
        if ((configuration.GetSection("Delivery").Get<DeliveryOptions>() ?? new DeliveryOptions()).WakeOnNotification)
            services.AddHostedService<OutboundWakeUpListener>();
        services.AddHostedService<OutboundRecovery>();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        services.Configure<AuditSealingOptions>(configuration.GetSection("Audit"));
        services.AddHostedService<AuditSealing>();
        services.AddSingleton<BacklogGauges>();
        services.AddHostedService(sp => sp.GetRequiredService<BacklogGauges>());
        return builder;
    }
}
