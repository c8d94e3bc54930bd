using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class WebhookSubscriptionConfiguration : IEntityTypeConfiguration<WebhookSubscription>
{
    public void Configure(EntityTypeBuilder<WebhookSubscription> builder)
    {
        builder.HasKey(s => s.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(s => s.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(s => s.Url).HasMaxLength(WebhookTargets.MaxUrlLength);
        builder.Property(s => s.Description).HasMaxLength(WebhookSubscription.MaxDescriptionLength);
        builder.Property(s => s.Events).HasColumnType("text[]");
        builder.ToTable(t => t.HasCheckConstraint("ck_webhook_subscriptions_previous_secret",
            "(previous_sealed_secret IS NULL) = (previous_secret_expires_at IS NULL)"));
        builder.HasIndex(s => new { s.TenantId, s.Enabled });
    }
}

internal sealed class WebhookEventConfiguration : IEntityTypeConfiguration<WebhookEvent>
{
    public void Configure(EntityTypeBuilder<WebhookEvent> builder)
    {
        builder.HasKey(e => e.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(e => e.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(e => e.Type).HasMaxLength(40);
        builder.HasIndex(e => new { e.TenantId, e.Id });
        builder.HasIndex(e => e.OccurredAt); // the retention run deletes old events
        builder.HasIndex(e => new { e.TenantId, e.ApplicationId, e.OccurredAt }); // an application's events (web app)
    }
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> builder)
    {
        builder.ToTable("webhook_deliveries");
        // No cascade: deleting a subscription or an event deletes its deliveries' outbound rows first (which cascade to
        // these), so no orphaned outbound row is left for recovery to trip over.
        builder.HasOne<WebhookSubscription>().WithMany().HasForeignKey(d => d.SubscriptionId).OnDelete(DeleteBehavior.NoAction);
        builder.HasOne<WebhookEvent>().WithMany().HasForeignKey(d => d.EventId).OnDelete(DeleteBehavior.NoAction);
        builder.Property(d => d.EventType).HasMaxLength(40);
        builder.HasIndex(d => new { d.SubscriptionId, d.Id });
        builder.HasIndex(d => new { d.SubscriptionId, d.EventId }).IsUnique();
        builder.HasIndex(d => d.EventId);
    }
}
