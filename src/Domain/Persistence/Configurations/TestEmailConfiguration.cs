using FeedbackHub.Domain.Email;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class TestEmailConfiguration : IEntityTypeConfiguration<TestEmail>
{
    public void Configure(EntityTypeBuilder<TestEmail> builder)
    {
        builder.ToTable("test_emails");
        builder.Property(e => e.Recipient).HasMaxLength(254);
    }
}
