using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class DeliveryConfiguration : IEntityTypeConfiguration<Delivery.Delivery>
{
    public void Configure(EntityTypeBuilder<Delivery.Delivery> builder)
    {
        builder.ToTable("deliveries");
        builder.HasOne<Application>().WithMany().HasForeignKey(d => d.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Feedback>().WithMany().HasForeignKey(d => d.FeedbackId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<FeedbackRequest>().WithMany().HasForeignKey(d => d.RequestId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(d => d.ApplicationId).IsUnique(); // one delivery per request, one request per application
        builder.Property(d => d.MessageId).HasMaxLength(200);
    }
}

internal sealed class FeedbackRequestLinkConfiguration : IEntityTypeConfiguration<FeedbackRequestLink>
{
    public void Configure(EntityTypeBuilder<FeedbackRequestLink> builder)
    {
        builder.HasKey(l => l.Id);
        builder.HasOne<Application>().WithMany().HasForeignKey(l => l.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(l => l.TokenHash).HasMaxLength(32);
        builder.HasIndex(l => l.TokenHash).IsUnique();
        builder.HasIndex(l => new { l.TenantId, l.ApplicationId });
    }
}

internal sealed class FeedbackRequestConfiguration : IEntityTypeConfiguration<FeedbackRequest>
{
    public void Configure(EntityTypeBuilder<FeedbackRequest> builder)
    {
        builder.HasKey(r => r.Id);
        builder.HasOne<Application>().WithMany().HasForeignKey(r => r.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(r => r.ApplicationId).IsUnique();
        builder.HasIndex(r => r.TenantId);
        builder.HasIndex(r => new { r.TenantId, r.RequestedAt }).HasFilter("answered_at IS NULL"); // candidates waiting
        builder.Property(r => r.Note).HasMaxLength(FeedbackRequest.MaxNoteLength);
    }
}

internal sealed class SuppressedAddressConfiguration : IEntityTypeConfiguration<SuppressedAddress>
{
    public void Configure(EntityTypeBuilder<SuppressedAddress> builder)
    {
        builder.HasKey(s => new { s.TenantId, s.AddressHash });
        builder.Property(s => s.AddressHash).HasMaxLength(32);
        builder.Property(s => s.Reason).HasMaxLength(500);
    }
}

internal sealed class InvitationConfiguration : IEntityTypeConfiguration<Invitation>
{
    public void Configure(EntityTypeBuilder<Invitation> builder)
    {
        builder.ToTable("invitations");
        builder.HasOne<Application>().WithMany().HasForeignKey(i => i.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(i => i.ApplicationId);
    }
}
