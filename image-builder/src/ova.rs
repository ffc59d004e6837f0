//! The VirtualBox appliance (OVA): a tar of an OVF descriptor, the disk as a streamOptimized VMDK
//! (the hybrid ISO boots as a disk) and a SHA-256 manifest, OVF first as the format requires.

use std::path::Path;

use runner::Cmd;

use crate::rootfs::{io, RootfsError};

pub const OVF_NAME: &str = "installer.ovf";
pub const VMDK_NAME: &str = "installer-disk1.vmdk";
pub const MF_NAME: &str = "installer.mf";

/// The OVF descriptor for a disk of `capacity` bytes whose VMDK file has `file_size` bytes.
pub fn ovf(capacity: u64, file_size: u64, memory_mib: u32) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="{VMDK_NAME}" ovf:size="{file_size}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="{capacity}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT"><Description>Logical network used by this appliance.</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="installer">
    <Info>A virtual machine booting the installer</Info>
    <OperatingSystemSection ovf:id="101">
      <Info>The kind of installed guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>installer</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>1 virtual CPU</rasd:Caption>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>{memory_mib} MB of memory</rasd:Caption>
        <rasd:ElementName>{memory_mib} MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{memory_mib}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    )
}

fn sha256(p: &Path) -> Result<String, RootfsError> {
    let out = Cmd::new(format!("hashing {}", p.display()), "sha256sum").arg(p).run()?;
    Ok(out.stdout.split_whitespace().next().unwrap_or_default().to_string())
}

/// Builds `out` (an .ova) from a bootable raw disk image (the hybrid ISO).
pub fn build(disk_image: &Path, out: &Path, work: &Path) -> Result<(), RootfsError> {
    std::fs::create_dir_all(work).map_err(io(format!("creating {}", work.display())))?;
    let vmdk = work.join(VMDK_NAME);
    let _ = std::fs::remove_file(&vmdk);
    Cmd::new("converting the disk to a streamOptimized VMDK", "qemu-img")
        .args(["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized"])
        .arg(disk_image)
        .arg(&vmdk)
        .run()?;
    let capacity = std::fs::metadata(disk_image).map_err(io("sizing the disk image"))?.len();
    let file_size = std::fs::metadata(&vmdk).map_err(io("sizing the VMDK"))?.len();
    let ovf_path = work.join(OVF_NAME);
    std::fs::write(&ovf_path, ovf(capacity, file_size, 1024)).map_err(io("writing the OVF"))?;
    let mf = format!("SHA256({OVF_NAME})= {}\nSHA256({VMDK_NAME})= {}\n", sha256(&ovf_path)?, sha256(&vmdk)?);
    std::fs::write(work.join(MF_NAME), mf).map_err(io("writing the manifest"))?;
    let _ = std::fs::remove_file(out);
    Cmd::new("packing the OVA", "tar")
        .args(["--format=ustar", "-cf"])
        .arg(out)
        .arg("-C")
        .arg(work)
        .args([OVF_NAME, VMDK_NAME, MF_NAME])
        .run()?;
    Ok(())
}
