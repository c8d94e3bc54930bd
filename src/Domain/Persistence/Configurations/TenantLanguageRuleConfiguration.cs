using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class TenantLanguageRuleConfiguration : IEntityTypeConfiguration<TenantLanguageRule>
{
    public void Configure(EntityTypeBuilder<TenantLanguageRule> builder)
    {
        builder.HasKey(r => r.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(r => r.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(r => new { r.TenantId, r.Kind, r.Key }).IsUnique();
        builder.Property(r => r.Kind).HasConversion<string>().HasMaxLength(20);
        builder.Property(r => r.Severity).HasConversion<string>().HasMaxLength(10);
        builder.Property(r => r.Key).HasMaxLength(250);
        builder.Property(r => r.Category).HasMaxLength(60);
        builder.Property(r => r.Phrase).HasMaxLength(200);
        builder.Property(r => r.Reason).HasMaxLength(300);
        builder.Property(r => r.Suggestion).HasMaxLength(300);
        builder.Property(r => r.CreatedBy).HasMaxLength(100);
    }
}
