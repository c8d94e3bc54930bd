using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class TestEmailConfiguration : IEntityTypeConfiguration<TestEmail>
{
    public void Configure(EntityTypeBuilder<TestEmail> builder)
    {
        builder.HasKey(e => e.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(e => e.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(e => e.Recipient).HasMaxLength(254);
        builder.Property(e => e.Status).HasConversion<string>().HasMaxLength(20);
        builder.Property(e => e.LastReply).HasMaxLength(1000);
    }
}
